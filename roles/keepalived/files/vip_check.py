# Launcher of the Redis VIP check (keepalived track script and redis-vip-watch), installed by the
# redis_ha.sentinel_vip keepalived role. The code is the package redis_vip_check/ next to this file (the
# collection's plugins/module_utils/_vipcheck/); importing it instead of running it lets Python use
# the byte-compiled copies the role writes to its __pycache__, so a run does not compile the sources again.
# A missing or stale cache only costs time: Python then compiles the source in memory.
# The command line lives here, not in the module_utils package (an Ansible module_utils has no shebang
# and does not exit the interpreter). keepalived and redis-vip-watch name the interpreter themselves:
#     /usr/bin/python3 -IS vip_check.py CONFIG_FILE        exit 0 = hold the VIP, 1 = do not, 2 = config error
#     /usr/bin/python3 -IS vip_check.py --watch CONFIG_FILE
import sys

sys.path.insert(0, __file__.rpartition("/")[0] or ".")
from redis_vip_check.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
