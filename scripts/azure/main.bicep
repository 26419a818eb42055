// vtapd collectors for Azure Virtual Network TAP, deployed into one resource
// group: a VNet (mgmt and tap subnets), collectorCount NVA VMs (nva.bicep:
// management NIC + accelerated tap NIC, cloud-init installs and starts
// vtapd), an internal Standard load balancer with an HA-ports rule and a
// HTTP health probe in front of the tap NICs, the Virtual Network TAP
// resource (destination: the load balancer's front end, or the first
// collector's tap NIC), and tap configurations on the source NICs listed in
// sourceNics. Usage and preview constraints: scripts/azure/README.md.
// API versions were checked against the Azure template reference (the list
// is in tests/lint/bicep_check.py); the template has not been compiled with
// the bicep CLI here.

@description('Region. Virtual Network TAP is in preview in a few regions only (README).')
param location string = resourceGroup().location

@description('Prefix of every resource name.')
@maxLength(12)
param namePrefix string = 'vtap'

param adminUsername string = 'vtapadmin'

@description('SSH public key (ssh-ed25519 or ssh-rsa) for adminUsername.')
param sshPublicKey string

@description('CIDR allowed to reach the management NICs on TCP 22.')
param sshSourcePrefix string

@description('Give each management NIC a public IP (SSH, and outbound access for cloud-init).')
param publicManagementIp bool = true

@description('vtapd instances behind the load balancer (scale-out).')
@minValue(1)
@maxValue(8)
param collectorCount int = 1

@description('VM size with Accelerated Networking and at least 4 vCPUs (main, RX, workers).')
param collectorVmSize string = 'Standard_D4s_v5'

@description('Where the TAP sends: the load balancer front end (HA, scale-out) or collector 0\'s tap NIC.')
@allowed([
  'loadBalancer'
  'nic'
])
param tapDestination string = 'loadBalancer'

@description('How vtapd reads the tap NIC: drivers/README.md, "Azure: which PMD on which VM".')
@allowed([
  'netvsc'
  'mana'
  'af_packet'
])
param dpdkDriver string = 'netvsc'

@description('2 MB hugepages reserved on each collector.')
@minValue(0)
param hugepages int = 1024

@description('Worker lcores per collector; 0 = every CPU but the main and RX lcores.')
@minValue(0)
@maxValue(64)
param workers int = 0

@description('Git URL of the vtapd repository cloud-init clones (must be reachable from the VMs).')
param vtapdRepo string

@description('Branch or tag of vtapdRepo.')
param vtapdRef string = 'main'

param vnetAddressPrefix string = '10.42.0.0/16'
param mgmtSubnetPrefix string = '10.42.0.0/24'
param tapSubnetPrefix string = '10.42.1.0/24'

@description('decap.tap_sources: outer source prefixes vtapd analyses. Empty: the VNet\'s prefix.')
param tapSources array = []

@description('Port of the load balancer\'s HTTP probe (GET /health): vtapd\'s health endpoint, reached through its exception path (README).')
@minValue(1)
@maxValue(65535)
param healthProbePort int = 8080

@description('Optional syslog output for alerts as URL: tcp, udp or tls, HOST and optional PORT, or unix and a socket path (README); empty: EVE file only.')
param syslogTarget string = ''

@description('Source NICs to tap: [{ resourceGroup: "rg", name: "vm1-nic" }]. Stop/start each VM once first (README).')
param sourceNics array = []

@description('Also deploy a sender VM for scripts/azure/bench (its tap NIC is outside the backend pool).')
param deployBenchSender bool = false

var lbName = '${namePrefix}-ilb'
var frontendName = 'tap-frontend'
var poolName = 'collectors'
var probeName = 'vtapd-health'
var poolId = resourceId('Microsoft.Network/loadBalancers/backendAddressPools', lbName, poolName)
var effectiveTapSources = empty(tapSources) ? [
  vnetAddressPrefix
] : tapSources
// cloud-init.yaml with the deployment's values; nva.bicep fills in the VM
// name (@@INSTANCE_ID@@, instance.id in alerts) and @@ROLE@@.
var ciRepo = replace(loadTextContent('cloud-init.yaml'), '@@VTAPD_REPO@@', vtapdRepo)
var ciRef = replace(ciRepo, '@@VTAPD_REF@@', vtapdRef)
var ciDriver = replace(ciRef, '@@DPDK_DRIVER@@', dpdkDriver)
var ciSources = replace(ciDriver, '@@TAP_SOURCES@@', '[${join(effectiveTapSources, ', ')}]')
var ciHuge = replace(ciSources, '@@HUGEPAGES@@', string(hugepages))
var ciWorkers = replace(ciHuge, '@@WORKERS@@', string(workers))
var ciHealth = replace(ciWorkers, '@@HEALTH_PORT@@', string(healthProbePort))
var cloudInit = replace(ciHealth, '@@SYSLOG@@', syslogTarget)

resource mgmtNsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${namePrefix}-mgmt-nsg'
  location: location
  properties: {
    securityRules: [
      {
        name: 'ssh-in'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: sshSourcePrefix
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '22'
        }
      }
    ]
  }
}

// The default rules already allow VNet-internal traffic; these two say
// what the tap subnet is for: VXLAN copies from the tapped VMs (same or
// peered VNet) and the load balancer's probe.
resource tapNsg 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: '${namePrefix}-tap-nsg'
  location: location
  properties: {
    securityRules: [
      {
        name: 'vxlan-in'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Udp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '4789'
        }
      }
      {
        name: 'lb-probe-in'
        properties: {
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'AzureLoadBalancer'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: string(healthProbePort)
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: '${namePrefix}-vnet'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: 'mgmt'
        properties: {
          addressPrefix: mgmtSubnetPrefix
          networkSecurityGroup: {
            id: mgmtNsg.id
          }
        }
      }
      {
        name: 'tap'
        properties: {
          addressPrefix: tapSubnetPrefix
          networkSecurityGroup: {
            id: tapNsg.id
          }
        }
      }
    ]
  }
}

// HA ports (protocol All, ports 0) forward every UDP 4789 copy; the default
// distribution hashes the outer 5-tuple, so one tap source (one outer
// source address and UDP source port) stays on one collector while it is
// healthy. The probe arrives on the tap NIC, which DPDK owns: vtapd's
// exception path hands it to the kernel and its health endpoint answers
// (provision.sh configures both on healthProbePort). HTTP, not TCP: a TCP
// probe would pass whenever the kernel accepts the connection, even while
// vtapd answers 503 (workers stalled, drops over the threshold).
resource lb 'Microsoft.Network/loadBalancers@2023-11-01' = {
  name: lbName
  location: location
  sku: {
    name: 'Standard'
    tier: 'Regional'
  }
  properties: {
    frontendIPConfigurations: [
      {
        name: frontendName
        properties: {
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: vnet.properties.subnets[1].id
          }
        }
      }
    ]
    backendAddressPools: [
      {
        name: poolName
      }
    ]
    probes: [
      {
        name: probeName
        properties: {
          protocol: 'Http'
          port: healthProbePort
          requestPath: '/health'
          intervalInSeconds: 5
          numberOfProbes: 2
        }
      }
    ]
    loadBalancingRules: [
      {
        name: 'ha-ports'
        properties: {
          frontendIPConfiguration: {
            id: resourceId('Microsoft.Network/loadBalancers/frontendIPConfigurations', lbName, frontendName)
          }
          backendAddressPool: {
            id: poolId
          }
          probe: {
            id: resourceId('Microsoft.Network/loadBalancers/probes', lbName, probeName)
          }
          protocol: 'All'
          frontendPort: 0
          backendPort: 0
          enableFloatingIP: false
          loadDistribution: 'Default'
        }
      }
    ]
  }
}

module collectors 'nva.bicep' = [for i in range(0, collectorCount): {
  name: '${namePrefix}-nva${i}'
  params: {
    location: location
    name: '${namePrefix}-nva${i}'
    role: 'collector'
    vmSize: collectorVmSize
    adminUsername: adminUsername
    sshPublicKey: sshPublicKey
    mgmtSubnetId: vnet.properties.subnets[0].id
    tapSubnetId: vnet.properties.subnets[1].id
    backendPoolId: poolId
    publicManagementIp: publicManagementIp
    cloudInit: cloudInit
  }
  dependsOn: [
    lb
  ]
}]

module sender 'nva.bicep' = if (deployBenchSender) {
  name: '${namePrefix}-sender'
  params: {
    location: location
    name: '${namePrefix}-sender'
    role: 'sender'
    vmSize: collectorVmSize
    adminUsername: adminUsername
    sshPublicKey: sshPublicKey
    mgmtSubnetId: vnet.properties.subnets[0].id
    tapSubnetId: vnet.properties.subnets[1].id
    backendPoolId: ''
    publicManagementIp: publicManagementIp
    cloudInit: cloudInit
  }
}

resource vtap 'Microsoft.Network/virtualNetworkTaps@2023-11-01' = {
  name: '${namePrefix}-vtap'
  location: location
  properties: {
    destinationLoadBalancerFrontEndIPConfiguration: tapDestination == 'loadBalancer' ? {
      id: lb.properties.frontendIPConfigurations[0].id
    } : null
    destinationNetworkInterfaceIPConfiguration: tapDestination == 'nic' ? {
      id: collectors[0].outputs.tapIpConfigId
    } : null
    destinationPort: 4789
  }
}

module sources 'tapconfig.bicep' = [for (src, i) in sourceNics: {
  name: '${namePrefix}-tapcfg${i}'
  scope: resourceGroup(src.resourceGroup)
  params: {
    nicName: src.name
    tapConfigName: '${namePrefix}-tapcfg'
    virtualNetworkTapId: vtap.id
  }
}]

output virtualNetworkTapId string = vtap.id
output loadBalancerFrontendIp string = lb.properties.frontendIPConfigurations[0].properties.privateIPAddress
output collectorTapIps array = [for i in range(0, collectorCount): collectors[i].outputs.tapPrivateIp]
output collectorMgmtIps array = [for i in range(0, collectorCount): publicManagementIp ? collectors[i].outputs.mgmtPublicIp : collectors[i].outputs.mgmtPrivateIp]
output collectorMgmtPrivateIps array = [for i in range(0, collectorCount): collectors[i].outputs.mgmtPrivateIp]
output senderMgmtIp string = deployBenchSender ? (publicManagementIp ? sender.outputs.mgmtPublicIp : sender.outputs.mgmtPrivateIp) : ''
output senderTapIp string = deployBenchSender ? sender.outputs.tapPrivateIp : ''
