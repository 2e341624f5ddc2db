"""The documented limits on input from outside (configs, fleet and workload files, command lines).

Every reader of outside input checks against these, so a hostile or broken file ends in a clear
error instead of a hang, a traceback or gigabytes of memory. The README's `vmdeck validate` section
lists them; change both together.
"""

from __future__ import annotations

MIB = 1024**2

# --- HOCON configs (ticrypt-vm.conf and its includes) ----------------------------------------------
MAX_CONFIG_FILE_BYTES = 4 * MIB  # one file; the sample is 4 KiB, 200 profiles ~90 KiB
MAX_CONFIG_TOTAL_BYTES = 16 * MIB  # the main file and all its includes together
MAX_INCLUDE_DEPTH = 8  # files including files including files ...
MAX_INCLUDES = 1000  # include statements in all files together
MAX_NESTING = 32  # { and [ open at once in one file (pyhocon's parser recurses at about 50)
MAX_KEY_DEPTH = 64  # components of one key path (a.b.c... plus the objects around it)
MAX_SUBSTITUTIONS = 5000  # ${...} in all files together (pyhocon resolves them in rounds)
# Dotted keys at the top level of a file that has substitutions (or its root in braces): such a file
# is parsed as written, where pyhocon's root object is quadratic in them (other files are parsed
# wrapped in an object and have no such limit).
MAX_ROOT_DOTTED_WITH_SUBSTITUTIONS = 2000

# --- values ----------------------------------------------------------------------------------------
# Sizes are 64-bit signed in the service (Lightbend config's getBytes returns a Java long).
MAX_SIZE_BYTES = 2**63 - 1
MAX_CORES = 65536  # host cores in a hardware profile (Linux's NR_CPUS maximum is 8192)
MAX_COUNT = 2**31 - 1  # counts in fleet and workload files (VMs, vCPUs, devices)

# --- what-if scenario files ------------------------------------------------------------------------
MAX_FLEET_FILE_BYTES = 256 * MIB  # FLEET.json (100,000 hosts take ~20 MiB)
MAX_WORKLOAD_FILE_BYTES = 1024 * MIB  # workload JSONL / CSV traces, streamed line by line
MAX_WORKLOAD_LINE_BYTES = 64 * 1024  # one event
# A generated or loaded VM costs ~1 KiB in memory (200,000 VMs: 225 MB, 2 s): these keep one run
# near 1 GiB. The scheduler goals (issue 14) are stated at 100,000 events.
MAX_WORKLOAD_EVENTS = 2_000_000  # events in one workload file or trace (a start and a stop per VM)
MAX_GENERATED_VMS = 1_000_000  # `vmdeck workload generate --vms`
