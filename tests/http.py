"""A published port's page, asked a few times: right after a deploy converges, a node's proxy or routing mesh
learns of tasks on other nodes within about a second."""

import time

import requests


def page(url: str, attempts: int = 5, timeout: float = 10) -> str:
    r = None
    for _ in range(attempts):
        try:
            r = requests.get(url, timeout=timeout)
        except requests.ConnectionError:
            r = None
        if r is not None and r.status_code == 200:
            return r.text
        time.sleep(1)
    raise AssertionError(f"{url}: {r.status_code if r is not None else 'no answer'} after {attempts} attempts")
