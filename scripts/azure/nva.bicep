// One Debian 12 VM with two accelerated NICs: a management NIC (primary:
// SSH, package downloads, default route) and a tap NIC that DPDK takes over.
// role 'collector' runs vtapd (cloud-init.yaml -> provision.sh); role
// 'sender' only builds the repository, for scripts/azure/bench.

param location string
param name string
@allowed(['collector', 'sender'])
param role string
param vmSize string
param adminUsername string
param sshPublicKey string
param mgmtSubnetId string
param tapSubnetId string
@description('Backend pool the tap NIC joins ("" for none).')
param backendPoolId string = ''
param publicManagementIp bool
@description('cloud-init.yaml with every placeholder but @@INSTANCE_ID@@ and @@ROLE@@ filled in.')
param cloudInit string

resource mgmtPip 'Microsoft.Network/publicIPAddresses@2023-11-01' = if (publicManagementIp) {
  name: '${name}-pip'
  location: location
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
  }
}

resource mgmtNic 'Microsoft.Network/networkInterfaces@2023-11-01' = {
  name: '${name}-mgmt'
  location: location
  properties: {
    enableAcceleratedNetworking: true
    ipConfigurations: [
      {
        name: 'ipconfig1'
        properties: {
          primary: true
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: mgmtSubnetId
          }
          publicIPAddress: publicManagementIp ? {
            id: mgmtPip.id
          } : null
        }
      }
    ]
  }
}

resource tapNic 'Microsoft.Network/networkInterfaces@2023-11-01' = {
  name: '${name}-tap'
  location: location
  properties: {
    enableAcceleratedNetworking: true
    ipConfigurations: [
      {
        name: 'ipconfig1'
        properties: {
          primary: true
          privateIPAllocationMethod: 'Dynamic'
          subnet: {
            id: tapSubnetId
          }
          loadBalancerBackendAddressPools: empty(backendPoolId) ? [] : [
            {
              id: backendPoolId
            }
          ]
        }
      }
    ]
  }
}

resource vm 'Microsoft.Compute/virtualMachines@2024-03-01' = {
  name: name
  location: location
  properties: {
    hardwareProfile: {
      vmSize: vmSize
    }
    storageProfile: {
      imageReference: {
        publisher: 'Debian'
        offer: 'debian-12'
        sku: '12-gen2'
        version: 'latest'
      }
      osDisk: {
        createOption: 'FromImage'
        managedDisk: {
          storageAccountType: 'Premium_LRS'
        }
      }
    }
    osProfile: {
      computerName: name
      adminUsername: adminUsername
      customData: base64(replace(replace(cloudInit, '@@INSTANCE_ID@@', name), '@@ROLE@@', role))
      linuxConfiguration: {
        disablePasswordAuthentication: true
        ssh: {
          publicKeys: [
            {
              path: '/home/${adminUsername}/.ssh/authorized_keys'
              keyData: sshPublicKey
            }
          ]
        }
      }
    }
    networkProfile: {
      // Order matters: provision.sh takes the NIC without the default route
      // (not the primary one) as the tap NIC.
      networkInterfaces: [
        {
          id: mgmtNic.id
          properties: {
            primary: true
          }
        }
        {
          id: tapNic.id
          properties: {
            primary: false
          }
        }
      ]
    }
    diagnosticsProfile: {
      bootDiagnostics: {
        enabled: true
      }
    }
  }
}

output tapIpConfigId string = tapNic.properties.ipConfigurations[0].id
output tapPrivateIp string = tapNic.properties.ipConfigurations[0].properties.privateIPAddress
output mgmtPrivateIp string = mgmtNic.properties.ipConfigurations[0].properties.privateIPAddress
output mgmtPublicIp string = publicManagementIp ? mgmtPip.properties.ipAddress : ''
