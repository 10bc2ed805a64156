# Copyright: swarmlab contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt), as Ansible's plugins are
"""The swarm's unlock keys, from the one place the user keeps them: swarm_unlock_key (a vault-encrypted vars file)
and the controller's swarm_unlock_key_file, which the swarm role writes (mode 0600) when autolock is turned on or
the key rotated."""

from __future__ import annotations

DOCUMENTATION = r"""
name: unlock_keys
short_description: The swarm's unlock keys, newest first, from swarm_unlock_key and swarm_unlock_key_file
description:
  - "Returns the keys C(docker swarm unlock) may take for a manager that comes up locked (autolock): the variable
    C(swarm_unlock_key) (a string, best kept in a vault-encrypted vars file), then the lines of the controller's file
    C(swarm_unlock_key_file), newest first (after a rotation, the key before it is kept on the second line for a
    manager that was down while it was rotated)."
  - The file may be vault-encrypted. A plain file that others than its owner may read is refused, as ssh refuses
    a private key.
  - A file that does not exist yet gives no key (the swarm role writes it when it turns autolock on).
author:
  - swarmlab contributors (@swarmlab)
options:
  _terms:
    description: Unused.
    required: false
"""

EXAMPLES = r"""
- name: Unlock a locked manager
  ansible.builtin.command:
    argv: [docker, swarm, unlock]
    stdin: "{{ item }}"
  loop: "{{ lookup('swarmlab.swarm.unlock_keys', wantlist=True) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The unlock keys, newest first, without duplicates.
  type: list
  elements: str
"""

import os
import stat

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.vault import is_encrypted
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        keys = []
        given = self._templar.template(variables.get("swarm_unlock_key", "")) or ""
        keys.extend([given] if isinstance(given, str) else list(given))
        path = self._templar.template(variables.get("swarm_unlock_key_file", "")) or ""
        if path:
            path = os.path.expanduser(str(path))
            if os.path.exists(path):
                keys.extend(self._read(path).splitlines())
        return list(dict.fromkeys(key.strip() for key in keys if key and key.strip()))

    def _read(self, path):
        with open(path, "rb") as f:
            data = f.read()
        if is_encrypted(data):
            return to_text(self._loader._get_file_contents(path)[0])  # pylint: disable=protected-access
        if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AnsibleError(
                f"{path} holds the swarm's unlock key but others than its owner may read it: chmod 600 {path}, "
                "or encrypt it with ansible-vault.")
        return to_text(data)
