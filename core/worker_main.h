/*
 * worker_main.h - the hidden worker mode of pganalytics-collector:
 *
 *     pganalytics-collector --plugin-worker NAME PARENT_PID
 *
 * started by the collector (supervisor.c) with its end of a socketpair as
 * fd WORKER_FD.  The worker runs one plugin instance: it loads the plugin
 * the SETUP request names, then serves INIT, COLLECT and SHUTDOWN requests
 * one at a time until SHUTDOWN or the end of the socket.  See
 * docs/ISOLATION.md.
 */
#ifndef PGA_CORE_WORKER_MAIN_H
#define PGA_CORE_WORKER_MAIN_H

/*
 * worker_main - run as a worker; argv[1] is WORKER_ARG.  Returns the exit
 * status (0 after a SHUTDOWN; the WORKER_EXIT_* codes otherwise).
 */
int worker_main(int argc, char **argv);

#endif
