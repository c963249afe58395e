# account.sh - shell functions shared by the maintainer scripts (build-debs
# pastes this file where a script says #ACCOUNT_FUNCTIONS#).
#
# They work in a normal install and in a chroot-less `dpkg --root=DIR
# --force-script-chrootless` install, where dpkg sets DPKG_ROOT=DIR and runs
# the scripts on the host: then the accounts are those of DIR/etc, changed
# with the host's useradd/usermod --prefix, never the host's own.

PGA_USER=pganalytics

# account_field NAME FILE FIELD: one field of NAME's line in passwd or group.
account_field() {
	if [ -n "${DPKG_ROOT:-}" ]; then
		# grep and cut: essential, unlike awk.
		grep "^$1:" "$DPKG_ROOT/etc/$2" 2>/dev/null | head -n 1 | cut -d: -f"$3"
	else
		getent "$2" "$1" | cut -d: -f"$3"
	fi
}

user_exists() {
	[ -n "$(account_field "$PGA_USER" passwd 1)" ]
}

group_exists() {
	[ -n "$(account_field "$1" group 1)" ]
}

# in_group GROUP: whether the pganalytics user is a listed member of GROUP.
in_group() {
	account_field "$1" group 4 | tr ',' '\n' | grep -qx "$PGA_USER"
}

# with_prefix COMMAND ARG...: run useradd/usermod on DPKG_ROOT's accounts.
with_prefix() {
	command=$1
	shift
	if [ -n "${DPKG_ROOT:-}" ]; then
		"$command" --prefix "$DPKG_ROOT" "$@"
	else
		"$command" "$@"
	fi
}

# systemd_running: whether there is a running systemd to tell (never in a
# --root install: its services are not this host's).
systemd_running() {
	[ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]
}
