#!/usr/bin/env bash
# Deploy vtapd collectors for Azure Virtual Network TAP with the az CLI
# (main.bicep), and add tap sources the way the preview requires. Needs az
# (logged in: az login) with Bicep support (az bicep install). See README.md.
#
#   deploy.sh up -g RG -l REGION --repo URL --ssh-from CIDR [options]
#       create the resource group (if needed) and deploy main.bicep
#       options: --ref REF, --ssh-key FILE (default ~/.ssh/id_ed25519.pub),
#                --collectors N, --destination loadBalancer|nic,
#                --driver netvsc|mana|af_packet, --sender, --size VM_SIZE,
#                --tap-sources CIDR[,CIDR...] (the tapped VMs' prefixes;
#                default: the collector VNet's, which misses peered VNets),
#                --syslog udp|tcp|tls://HOST[:PORT] (alert output besides
#                the EVE file), --probe-port PORT (default 8080),
#                --what-if (show the changes, deploy nothing)
#   deploy.sh add-source -g RG --nic-rg NIC_RG --nic NIC [--no-restart]
#       stop (deallocate) and start the NIC's VM once (preview requirement,
#       else "NIC is not on fastpath"), then add a tap configuration
#   deploy.sh outputs -g RG      print the deployment's outputs
#   deploy.sh down -g RG         delete the resource group (asks first)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
deployment=vtapd
die() { echo "deploy: $*" >&2; exit 2; }
need_az() { command -v az >/dev/null || die "the az CLI is not installed (https://learn.microsoft.com/cli/azure/install-azure-cli)"; }

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
(($# > 0)) || usage
[[ $1 == -h || $1 == --help ]] && usage
cmd=$1
shift

rg="" region="" repo="" ref=main ssh_key="$HOME/.ssh/id_ed25519.pub" ssh_from=""
collectors=1 destination=loadBalancer driver=netvsc sender=false size="" what_if=false tap_sources="" syslog="" probe_port=""
nic_rg="" nic="" restart=true
while (($# > 0)); do
  case $1 in
    -g) rg=$2; shift ;;
    -l) region=$2; shift ;;
    --repo) repo=$2; shift ;;
    --ref) ref=$2; shift ;;
    --ssh-key) ssh_key=$2; shift ;;
    --ssh-from) ssh_from=$2; shift ;;
    --collectors) collectors=$2; shift ;;
    --destination) destination=$2; shift ;;
    --driver) driver=$2; shift ;;
    --sender) sender=true ;;
    --size) size=$2; shift ;;
    --tap-sources) tap_sources=$2; shift ;;
    --what-if) what_if=true ;;
    --syslog) syslog=$2; shift ;;
    --probe-port) probe_port=$2; shift ;;
    --nic-rg) nic_rg=$2; shift ;;
    --nic) nic=$2; shift ;;
    --no-restart) restart=false ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (deploy.sh --help)" ;;
  esac
  shift
done
[[ -n $rg ]] || die "-g RESOURCE_GROUP is required"
need_az

case $cmd in
  up)
    [[ -n $region ]] || die "up: -l REGION is required (a region where the TAP preview runs: README.md)"
    [[ -n $repo ]] || die "up: --repo URL (git URL of this repository, reachable from the VMs) is required"
    [[ -n $ssh_from ]] || die "up: --ssh-from CIDR (who may SSH to the management NICs) is required"
    [[ -r $ssh_key ]] || die "up: SSH public key '$ssh_key' is not readable (--ssh-key FILE)"
    params=(
      vtapdRepo="$repo" vtapdRef="$ref" sshPublicKey="$(cat "$ssh_key")" sshSourcePrefix="$ssh_from"
      collectorCount="$collectors" tapDestination="$destination" dpdkDriver="$driver"
      deployBenchSender="$sender"
    )
    [[ -n $size ]] && params+=(collectorVmSize="$size")
    [[ -n $syslog ]] && params+=(syslogTarget="$syslog")
    [[ -n $probe_port ]] && params+=(healthProbePort="$probe_port")
    if [[ -n $tap_sources ]]; then
      [[ $tap_sources =~ ^[0-9./,]+$ ]] || die "up: --tap-sources '$tap_sources' is not CIDR[,CIDR...]"
      params+=(tapSources="[\"${tap_sources//,/\",\"}\"]")
    fi
    az group create --name "$rg" --location "$region" --output none
    if $what_if; then
      az deployment group what-if -g "$rg" -n "$deployment" -f "$here/main.bicep" -p "${params[@]}"
    else
      az deployment group create -g "$rg" -n "$deployment" -f "$here/main.bicep" -p "${params[@]}" \
        --query properties.outputs --output json
      echo "deploy: collectors are provisioning (cloud-init builds vtapd: ~10 min);" \
        "add sources with: $0 add-source -g $rg --nic-rg RG --nic NIC"
    fi
    ;;
  add-source)
    [[ -n $nic_rg && -n $nic ]] || die "add-source: --nic-rg RG and --nic NIC are required"
    tap_id=$(az deployment group show -g "$rg" -n "$deployment" \
      --query properties.outputs.virtualNetworkTapId.value --output tsv)
    [[ -n $tap_id ]] || die "add-source: no virtualNetworkTapId output in deployment '$deployment' of $rg (run up first)"
    vm_id=$(az network nic show -g "$nic_rg" -n "$nic" --query virtualMachine.id --output tsv)
    [[ -n $vm_id ]] || die "add-source: NIC $nic_rg/$nic is not attached to a VM"
    if $restart; then
      # Preview: once per source VM, after the TAP resource exists.
      echo "deploy: deallocating and starting $vm_id (its traffic stops meanwhile)"
      az vm deallocate --ids "$vm_id"
      az vm start --ids "$vm_id"
    fi
    echo "deploy: adding the tap configuration (the VM may lose traffic for up to 60 s)"
    az network nic vtap-config create -g "$nic_rg" --nic-name "$nic" --vnet-tap "$tap_id" -n vtapd-tapcfg --output none
    ;;
  outputs)
    az deployment group show -g "$rg" -n "$deployment" --query properties.outputs --output json
    ;;
  down)
    az group delete --name "$rg"
    ;;
  *) die "unknown command '$cmd': up, add-source, outputs or down" ;;
esac
