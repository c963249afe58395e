/*
 * inspect.h - what --list-plugins and --check-plugin print: plugins are
 * loaded to read their descriptors, never initialised.
 */
#ifndef PGA_CORE_INSPECT_H
#define PGA_CORE_INSPECT_H

/*
 * inspect_list_plugins - a table of every *.so in plugin_dir and every
 * configured path: name, version, ABI, enabled, path, description.
 * Rejected files are reported on stderr.  Returns an exit code.
 */
int inspect_list_plugins(const char *config_path);

/*
 * inspect_check_plugin - load one file and print its descriptor and option
 * table, or the rejection.  Returns EXIT_OK or EXIT_INVALID.
 */
int inspect_check_plugin(const char *path);

#endif
