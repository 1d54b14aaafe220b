/**
 * What other services may use of compute: the network boundary they implement (Nova's network
 * API towards Neutron) and the nova-network rule checks and ordering the security group proxy
 * keeps. Services import each other only through their client.ts.
 */
export type { NetworkApi, NetworkInfoItem, NetworkRequest, RequestedNetwork, InstanceRef, AttachRequest, InterfaceAttachment, ProxiedNetwork, FloatingIpProxy, FloatingIpView } from './network/network-api.js';
export type { Vif } from './drivers/driver.js';
export type { SecurityGroup, SecurityGroupCaller, SecurityGroupRule, SecurityGroupStore } from './network/security-groups.js';
export { buildRule, sortSecurityGroups } from './network/security-groups.js';
