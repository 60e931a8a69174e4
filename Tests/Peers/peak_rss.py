"""Runs a shell pipeline and prints the peak resident memory (KiB) of the largest process in it.

Usage: python3 peak_rss.py 'cmd1 | cmd2 | ...'   -> prints {"exit": N, "max_rss_kib": K}
RUSAGE_CHILDREN covers every descendant this process (through the shell) waited for, and not this
interpreter itself, so the figure is the biggest of the pipeline's processes.
"""
import json
import resource
import subprocess
import sys

result = subprocess.run(["bash", "-o", "pipefail", "-c", sys.argv[1]], stdout=subprocess.PIPE)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"exit": result.returncode, "max_rss_kib": usage.ru_maxrss, "stdout": result.stdout.decode().strip()}))
