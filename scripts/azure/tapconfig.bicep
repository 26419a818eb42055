// A tap configuration on one existing source NIC, deployed into the NIC's own
// resource group (main.bicep scopes this module there). Preview constraint:
// the source VM must be stopped (deallocated) and started once after the
// TAP resource exists, or this fails with "NIC is not on fastpath"; adding
// a source can interrupt its traffic for up to 60 s (scripts/azure/README.md).

param nicName string
param tapConfigName string
param virtualNetworkTapId string

resource nic 'Microsoft.Network/networkInterfaces@2023-11-01' existing = {
  name: nicName
}

resource tapConfig 'Microsoft.Network/networkInterfaces/tapConfigurations@2023-11-01' = {
  parent: nic
  name: tapConfigName
  properties: {
    virtualNetworkTap: {
      id: virtualNetworkTapId
    }
  }
}

output id string = tapConfig.id
