#!/usr/bin/env python3
"""An endless stream of recorded events on stdout, for bench/reload: ten containers of ten
images whose processes exec, open files and make system calls, as fast as the reader takes
them. Each line is a recorded event as `sentinel --replay -` reads it."""
import json, sys

# Told apart by their first 12 digits, as container ids are (a short id is 12).
containers = ["%02x3f2a9c1b7d4e" % index + "0" * 50 for index in range(10)]
out = sys.stdout
pid = 1000
time = 1_795_341_600_000_000_000
try:
    for index, container in enumerate(containers):
        out.write(json.dumps({"evt.type": "container", "evt.time": 1, "container.id": container,
                              "container.name": f"app-{index}", "container.image": f"shop/app:{index}",
                              "container.image.id": "sha256:%064x" % index}) + "\n")
    while True:
        for container in containers:
            pid += 1
            time += 1000
            out.write(json.dumps({"evt.type": "execve", "evt.time": time, "proc.pid": pid, "proc.ppid": 1,
                                  "proc.exepath": "/usr/bin/python3", "proc.args": ["python3", "worker.py"],
                                  "container.id": container}) + "\n")
            for path in ("/etc/hosts", "/app/worker.py", "/tmp/cache.db"):
                time += 1000
                out.write(json.dumps({"evt.type": "openat", "evt.time": time, "proc.pid": pid, "fd.name": path,
                                      "evt.arg.flags": "O_RDONLY", "evt.rawres": 3, "container.id": container}) + "\n")
            for number in (0, 1, 3, 0, 1, 232, 0, 1, 3, 202):
                time += 1000
                out.write(json.dumps({"evt.type": "syscall", "evt.time": time, "proc.pid": pid, "syscall.nr": number,
                                      "container.id": container}) + "\n")
            time += 1000
            out.write(json.dumps({"evt.type": "procexit", "evt.time": time, "proc.pid": pid, "container.id": container}) + "\n")
except BrokenPipeError:
    pass
