"""The benchmark of marianne-sdk: ``make bench`` (``python -m bench``).

``server`` is the canned conductor (cheap, or spending the conductor's CPU
per request), ``floor`` the least a client can do, ``workloads`` one measured
run in a process of its own, ``harness`` the interleaved runs and import
probes, ``report`` the tables, targets and JSON. ``remote`` runs the same
server over ssh (a private sshd on 127.0.0.1), each run in a process of its
own (``remote_runs``), and ``remote_report`` prints those rows.
"""
