# The sysstat plugin's /proc parsers and rate arithmetic (no plugin entry point).
sysstat_parsers_SOURCES := plugins/sysstat/proc_text.c plugins/sysstat/kernel_stat.c \
	plugins/sysstat/meminfo.c plugins/sysstat/vmstat.c plugins/sysstat/loadavg.c \
	plugins/sysstat/pressure.c plugins/sysstat/diskstats.c plugins/sysstat/netdev.c \
	plugins/sysstat/pid_stat.c plugins/sysstat/counter.c plugins/sysstat/named_list.c
