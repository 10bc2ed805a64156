#!/bin/sh
# Prints each overlay network this node runs a task on whose view (the network's gossip table) lacks tasks the
# swarm runs on it, as "NAME: SEEN of WANTED"; nothing once every view is whole. Run on a manager.
self=$(docker info --format '{{.Swarm.NodeID}}')
ids=$(for s in $(docker service ls -q); do docker service ps -q --filter desired-state=running "$s"; done | sort -u)
[ -n "$ids" ] || exit 0
# One line per running task: its node, then the networks it is attached to.
tasks=$(docker inspect --type task $ids \
  --format '{{if eq .Status.State "running"}}{{.NodeID}}{{range .NetworksAttachments}} {{.Network.ID}}{{end}}{{end}}')
for net in $(printf '%s\n' "$tasks" | awk -v s="$self" '$1 == s { for (i = 2; i <= NF; i++) print $i }' | sort -u); do
  wanted=$(printf '%s\n' "$tasks" | awk -v n="$net" '{ for (i = 2; i <= NF; i++) if ($i == n) c++ } END { print c + 0 }')
  seen=$(docker network inspect "$net" --verbose --format '{{range .Services}}{{len .Tasks}} {{end}}' \
    | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }')
  [ "$seen" -ge "$wanted" ] || echo "$(docker network inspect "$net" --format '{{.Name}}'): $seen of $wanted"
done
exit 0
