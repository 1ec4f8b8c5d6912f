#!/bin/sh
# Installs the real components the tests run against from Debian packages:
# PostgreSQL server, OpenLDAP slapd, Samba AD DC, openssl, rsyslog (SIEM streaming), an SMTP server (aiosmtpd), Chromium (browser tests), without letting their system
# daemons start or listen. Idempotent; run as root (CI does).
set -eu

PACKAGES="postgresql python3-aiosmtpd chromium chromium-driver fonts-dejavu-core poppler-utils slapd ldap-utils samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind krb5-user openssl rsyslog rsyslog-gnutls"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-debian.sh: must run as root" >&2
  exit 1
fi

missing=""
for pkg in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done

if [ -n "$missing" ]; then
  policy=/usr/sbin/policy-rc.d
  had_policy=no
  [ -e "$policy" ] && had_policy=yes && cp -p "$policy" "$policy.jml-saved"
  # 101 = "action forbidden": postinst scripts must not start slapd, smbd, nmbd, samba…
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'if [ "$had_policy" = yes ]; then mv "$policy.jml-saved" "$policy"; else rm -f "$policy"; fi' EXIT
  apt-get update
  # krb5-user asks for a realm; noninteractive takes the default.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

# Whatever started anyway (no policy-rc.d honoured, or an earlier install) is stopped and disabled.
for svc in postgresql slapd samba-ad-dc smbd nmbd winbind rsyslog; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop "$svc" 2>/dev/null || true
    systemctl disable "$svc" 2>/dev/null || true
    systemctl mask "$svc" 2>/dev/null || true
  elif [ -x "/etc/init.d/$svc" ]; then
    "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
done
for daemon in slapd smbd nmbd winbindd samba; do
  # Only system instances (their configs under /etc); the test harness runs its own from temp dirs.
  for pid in $(pgrep -x "$daemon" 2>/dev/null || true); do
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qE '/etc/(ldap|samba)|^/usr/sbin/(smbd|nmbd|winbindd) *$|^/usr/sbin/slapd -h .* -g openldap'; then
      kill "$pid" 2>/dev/null || true
    fi
  done
done

echo "install-debian.sh: peers installed:"
for bin in slapd slapadd ldapsearch ldapadd samba samba-tool openssl chromium pdftoppm; do
  printf '  %s: %s\n' "$bin" "$(command -v "$bin" || ls /usr/sbin/$bin 2>/dev/null || echo MISSING)"
done
