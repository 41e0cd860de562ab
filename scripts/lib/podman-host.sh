# shellcheck shell=bash
# Host-side helpers shared by scripts/lab and scripts/molecule (sourced, not run).
#
# What they do, and why:
# - podman from Debian, rootful, with runc: crun 1.8 refuses hybrid cgroup layouts, and
#   podman's default 1048576 rlimits cannot be set without CAP_SYS_RESOURCE, so both are
#   written explicitly into /etc/containers/containers.conf.
# - a local base image with systemd as PID 1 (no registry is reachable): debootstrap a minimal
#   Debian 12 and `podman import` it. Skipped when the image already exists.
# - a cache folder shared by every container (wheels, apt archives), so the same packages are
#   not downloaded once per scenario.

GB_CACHE=${GB_CACHE:-/var/cache/glance-bundle}
GB_IMAGE=${GB_IMAGE:-localhost/debian-systemd:bookworm}
GB_SUITE=${GB_SUITE:-bookworm}
export GB_CACHE GB_IMAGE

_gb_t0=${_gb_t0:-$(date +%s)}
step() { echo "== [$(( $(date +%s) - _gb_t0 ))s] $*"; }
die() { echo "ERROR: $*" >&2; exit 1; }

gb_require_root() {
  [ "$(id -u)" = 0 ] || die "run this as root (podman runs rootful, apt installs packages)"
}

# apt-get update once per run, only when something must be installed.
_gb_apt_updated=
gb_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$_gb_apt_updated" ]; then apt-get update -q >/dev/null; _gb_apt_updated=1; fi
  echo "   apt-get install ${missing[*]}"
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

gb_podman_setup() {
  gb_apt_install podman runc conmon netavark aardvark-dns containernetworking-plugins \
    iptables slirp4netns uidmap catatonit debootstrap ca-certificates
  local nofile nproc pidmax conf
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nofile" -gt 65536 ] && nofile=65536
  nproc=$(ulimit -Hu); pidmax=$(cat /proc/sys/kernel/pid_max)
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ]; then nproc=$pidmax; fi
  [ "$nproc" -gt 32768 ] && nproc=32768
  conf=$(cat <<CONF
# Written by glance-bundle scripts/lib/podman-host.sh
[containers]
# podman's default 1048576 rlimits cannot be set without CAP_SYS_RESOURCE: stay under the hard limit
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
# crun 1.8 refuses hybrid cgroup layouts (hugetlb on cgroup2); runc works
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)
  mkdir -p /etc/containers
  if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$conf" ]; then
    [ -f /etc/containers/containers.conf ] && cp /etc/containers/containers.conf /etc/containers/containers.conf.orig-glance-bundle
    printf '%s\n' "$conf" > /etc/containers/containers.conf
    echo "   wrote /etc/containers/containers.conf"
  fi
  podman info --format '   podman {{.Version.Version}}: runtime {{.Host.OCIRuntime.Name}}, cgroups {{.Host.CgroupsVersion}}, storage {{.Store.GraphDriverName}}' \
    || die "podman does not work on this host"
}

# Remove a container, retrying: podman 4.3 can fail `rm -f` with "container state improper:
# stopped" when systemd inside ends its shutdown just as the stop timeout runs out. By the next
# try the container is stopped and goes away.
gb_podman_rm() {
  local name=$1 _
  for _ in 1 2 3; do
    podman rm --force --ignore --time 10 "$name" >/dev/null 2>&1 && return 0
    sleep 2
  done
  podman rm --force --ignore --time 10 "$name" >/dev/null || die "could not remove container $name"
}

# Base image: minimal Debian 12 with systemd as PID 1 and python3 for Ansible. The host's local
# CA certificates (a company proxy's CA, for example) are copied in, so pip and apt inside the
# container trust what the host trusts.
gb_base_image() {
  if podman image exists "$GB_IMAGE"; then
    echo "   $GB_IMAGE exists, reused"
    return 0
  fi
  local mirror rootfs
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /var/tmp/glance-bundle-rootfs.XXXXXX)
  echo "   debootstrap $GB_SUITE from $mirror (about a minute)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-apt,iproute2,procps,sudo,ca-certificates \
    "$GB_SUITE" "$rootfs" "$mirror" >/dev/null || { rm -rf "$rootfs"; die "debootstrap failed"; }
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || true
  fi
  # the same apt sources as the host (security updates too), lists filled once here
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    rm -f "$rootfs/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
  fi
  for f in /etc/apt/apt.conf.d/99artifact-registry; do [ -f "$f" ] && cp "$f" "$rootfs/etc/apt/apt.conf.d/"; done
  # no console login prompts, no units that cannot work in a container
  chroot "$rootfs" systemctl mask getty@tty1.service serial-getty@.service \
    systemd-remount-fs.service sys-kernel-config.mount >/dev/null 2>&1 || true
  echo 'glance-lab' > "$rootfs/etc/hostname"
  tar -C "$rootfs" -c . | podman import -c 'CMD ["/sbin/init"]' -c 'STOPSIGNAL SIGRTMIN+3' - "$GB_IMAGE" >/dev/null
  rm -rf "$rootfs"
  echo "   built $GB_IMAGE"
}

# The Python tools (ansible, molecule, openstack client) in one venv under the cache folder.
GB_VENV=${GB_VENV:-$GB_CACHE/venv}
GB_PIP_TOOLS=(
  "ansible==12.3.0" "ansible-core==2.19.14"
  "molecule==26.10.0" "molecule-plugins[podman]==26.10.12"
  "python-openstackclient==10.5.0" "openstacksdk==4.22.0" "python-glanceclient==4.13.0"
)
gb_venv() {
  local want have
  want=$(printf '%s\n' "${GB_PIP_TOOLS[@]}" | sort | sha256sum | cut -c1-16)
  have=$(cat "$GB_VENV/.glance-bundle-tools" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    gb_apt_install python3-venv
    local py=${GB_PYTHON:-python3}
    [ -x "$GB_VENV/bin/python" ] || "$py" -m venv "$GB_VENV"
    "$GB_VENV/bin/pip" install -q "${GB_PIP_TOOLS[@]}"
    echo "$want" > "$GB_VENV/.glance-bundle-tools"
  fi
  # shellcheck disable=SC1091
  . "$GB_VENV/bin/activate"
  echo "   $(ansible --version | sed -n 1p), molecule $(NO_COLOR=1 molecule --version 2>/dev/null | sed -n "s/^molecule \([^ ]*\).*/\1/p")"
}

# A wheelhouse of every Python package the roles install, built once on the host and mounted
# into the containers at /opt/wheels, so each scenario installs with `--no-index --find-links
# /opt/wheels` in seconds instead of resolving against PyPI again. Three separate sets, because
# Keystone, glance_svc and the clients pin different versions of the same libraries.
GB_WHEELS=${GB_WHEELS:-$GB_CACHE/wheels}
gb_wheelhouse() {
  local root=$1 py=${GB_VENV}/bin/python stamp want
  local -a glance keystone clients
  mapfile -t glance < <("$py" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
data = tomllib.load(open(sys.argv[1], "rb"))
for req in data["build-system"]["requires"] + data["project"]["dependencies"]:
    print(req)
PY
)
  glance+=(wheel)
  keystone=("keystone==30.0.0" "gunicorn==27.0.1" "PyMySQL==1.2.4")
  clients=("python-openstackclient==10.5.0" "openstacksdk==4.22.0")
  # the openstacksdk the glance role's keystone stage puts into its deploy venv, when the role pins another one
  local sdk
  sdk=$("$py" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1])).get("glance_keystone_openstacksdk_version", ""))' \
        "$root/roles/glance/defaults/main.yml" 2>/dev/null || true)
  local -a deploysdk=()
  [ -n "$sdk" ] && deploysdk=("openstacksdk==$sdk")
  want=$(printf '%s\n' "${glance[@]}" -- "${keystone[@]}" -- "${clients[@]}" -- "${deploysdk[@]}" | sha256sum | cut -c1-16)
  stamp="$GB_WHEELS/.glance-bundle-$want"
  if [ -f "$stamp" ]; then
    echo "   $GB_WHEELS is up to date ($(find "$GB_WHEELS" -name '*.whl' | wc -l) wheels)"
    return 0
  fi
  mkdir -p "$GB_WHEELS"
  local set
  for set in glance keystone clients deploysdk; do
    local -n reqs=$set
    [ ${#reqs[@]} = 0 ] && continue
    echo "   pip wheel: $set (${#reqs[@]} requirements)"
    "$py" -m pip wheel -q --disable-pip-version-check -w "$GB_WHEELS" "${reqs[@]}" 2>&1 \
      | grep -v -E "^WARNING: Location .* is ignored" || true
    # pip wheel's exit status is lost in the pipe: check every set is installable offline
    local scratch; scratch=$(mktemp -d)
    "$py" -m pip download -q --disable-pip-version-check --no-index --find-links "$GB_WHEELS" \
      -d "$scratch" "${reqs[@]}" >/dev/null 2>&1 || { rm -rf "$scratch"; die "wheelhouse: set $set is incomplete"; }
    rm -rf "$scratch"
  done
  rm -f "$GB_WHEELS"/.glance-bundle-*
  touch "$stamp"
  echo "   $GB_WHEELS: $(find "$GB_WHEELS" -name '*.whl' | wc -l) wheels"
}

# apt's archive folder shared by the containers: mariadb-server is downloaded once, not once
# per scenario.
gb_apt_cache() {
  mkdir -p "$GB_CACHE/apt-archives/partial"
}
