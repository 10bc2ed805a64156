"""Stands in for pip's get-pip.py, which ansible-test fetches from ci-files.testing.ansible.com to put pip into the
empty virtual environments of `ansible-test sanity --venv` (that host is out of reach here): pip from this Python's
own ensurepip, then `pip install` of what ansible-test asked for (PyPI is reachable)."""

import subprocess
import sys

# get-pip.py's own options, which `pip install` does not take.
OWN = {"--no-setuptools", "--no-wheel"}

# Each in a process of its own: ensurepip in this one would hide pip's configuration (PIP_CONFIG_FILE=/dev/null)
# from the install after it, and with it the machine's certificate settings.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *(a for a in sys.argv[1:] if a not in OWN)]))
