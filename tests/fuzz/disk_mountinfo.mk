# The disk plugin's mountinfo parser (no plugin entry point, no libpq).
disk_mountinfo_SOURCES := plugins/disk/mountinfo.c
