import { HttpError } from '../../core/errors.js';

/** An error with Neutron's exception class name, shown as NeutronError.type. */
export class NeutronError extends HttpError {
  constructor(status: number, readonly type: string, message: string) {
    super(status, message);
  }
}

export const neutronError = (status: number, type: string, message: string) => new NeutronError(status, type, message);
export const invalidInput = (message: string) => neutronError(400, 'InvalidInput', `Invalid input for operation: ${message}`);
export const badRequestOf = (resource: string, message: string) => neutronError(400, 'BadRequest', `Bad ${resource} request: ${message}.`);
export const inUse = (type: string, message: string) => neutronError(409, type, message);

/** The NotFound of each resource, with Neutron's message. */
export const notFoundOf = (resource: Resource, id: string) => {
  const [type, message] = NOT_FOUND[resource](id);
  return neutronError(404, type, message);
};

export type Resource = 'network' | 'subnet' | 'port' | 'router' | 'floatingip' | 'security_group' | 'security_group_rule'
  | 'subnetpool' | 'address_scope' | 'rbac_policy' | 'agent' | 'port_forwarding';

const NOT_FOUND: Record<Resource, (id: string) => [string, string]> = {
  network: (id) => ['NetworkNotFound', `Network ${id} could not be found.`],
  subnet: (id) => ['SubnetNotFound', `Subnet ${id} could not be found.`],
  port: (id) => ['PortNotFound', `Port ${id} could not be found.`],
  router: (id) => ['RouterNotFound', `Router ${id} could not be found`],
  floatingip: (id) => ['FloatingIPNotFound', `Floating IP ${id} could not be found`],
  security_group: (id) => ['SecurityGroupNotFound', `Security group ${id} does not exist`],
  security_group_rule: (id) => ['SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`],
  subnetpool: (id) => ['SubnetPoolNotFound', `Subnet pool ${id} could not be found.`],
  address_scope: (id) => ['AddressScopeNotFound', `Address scope ${id} could not be found.`],
  rbac_policy: (id) => ['RbacPolicyNotFound', `RBAC policy with type network and id ${id} could not be found.`],
  agent: (id) => ['AgentNotFound', `Agent ${id} could not be found.`],
  port_forwarding: (id) => ['PortForwardingNotFound', `Port Forwarding ${id} could not be found.`],
};
