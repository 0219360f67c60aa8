#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (Debian, as root): munge, MariaDB + slurmdbd (so that `sacct` lists
# the jobs), slurmctld and slurmd on localhost, one partition named `cpu` and one named `gpu` (no GPUs here: gres
# is declared, not enforced). Idempotent: re-running keeps what is there and (re)starts the daemons. Then:
#   SLURM_ACCOUNT=attrctl SLURM_CPU_PARTITION=cpu SLURM_GPU_PARTITION=gpu snakemake --profile profiles/slurm
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (it installs packages and starts daemons)"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server >/dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
chown -R slurm:slurm /var/spool/slurmctld /var/log/slurm 2>/dev/null || true
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=attrctl
SlurmctldHost=${host}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmUser=root
ReturnToService=2
MinJobAge=3600
GresTypes=gpu
NodeName=${host} CPUs=${cpus} RealMemory=${mem} Gres=gpu:${cpus} State=UNKNOWN
PartitionName=cpu Nodes=${host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=${host} MaxTime=INFINITE State=UP
CONF
# as many "GPUs" as cores, backed by empty files: the GPU rules' gres requests are routed and counted, not run on
mkdir -p /var/lib/slurm-fake-gpu
for i in $(seq 0 $((cpus - 1))); do touch "/var/lib/slurm-fake-gpu/gpu$i"; done
echo "AutoDetect=off
NodeName=${host} Name=gpu File=/var/lib/slurm-fake-gpu/gpu[0-$((cpus - 1))]" > /etc/slurm/gres.conf

[ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

# Accounting: MariaDB holds what slurmdbd records; the database password stays in the root-only slurmdbd.conf.
pgrep -x mariadbd >/dev/null || { service mariadb start >/dev/null; }
if [ ! -s /etc/slurm/slurmdbd.conf ]; then
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '${password}';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  umask 077
  cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=${password}
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
CONF
  umask 022
fi
pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
pkill -x slurmdbd 2>/dev/null || true
sleep 1
slurmdbd
for _ in $(seq 30); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
sacctmgr -i -Q add cluster attrctl >/dev/null 2>&1 || true
sacctmgr -i -Q add account "${SLURM_ACCOUNT:-attrctl}" cluster=attrctl >/dev/null 2>&1 || true
sacctmgr -i -Q add user root account="${SLURM_ACCOUNT:-attrctl}" >/dev/null 2>&1 || true
slurmctld
slurmd
for _ in $(seq 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break
  scontrol update nodename="${host}" state=resume 2>/dev/null || true
  sleep 1
done
sinfo
