import type { InventoryRow } from '../db/schema.js';
import { bad } from './errors.js';

export const MAX_INT = 2147483647;

export interface InventoryInput {
  total: number;
  reserved?: number;
  min_unit?: number;
  max_unit?: number;
  step_size?: number;
  allocation_ratio?: number;
}
export type Inventory = Omit<InventoryRow, 'provider_uuid' | 'resource_class'>;

export const invOf = (r: InventoryRow): Inventory => ({
  total: Number(r.total), reserved: Number(r.reserved), min_unit: Number(r.min_unit), max_unit: Number(r.max_unit),
  step_size: Number(r.step_size), allocation_ratio: Number(r.allocation_ratio),
});

export function normalizeInventory(rc: string, i: InventoryInput, uuid: string, reservedCanBeTotal: boolean): Inventory {
  const inv: Inventory = {
    total: i.total, reserved: i.reserved ?? 0, min_unit: i.min_unit ?? 1, max_unit: i.max_unit ?? MAX_INT,
    step_size: i.step_size ?? 1, allocation_ratio: i.allocation_ratio ?? 1.0,
  };
  if (inv.reserved > inv.total || (!reservedCanBeTotal && inv.reserved === inv.total && inv.total > 0)) {
    throw bad(`Unable to update inventory for resource provider ${uuid}: Invalid inventory for '${rc}' on resource provider '${uuid}'. The reserved value is greater than or equal to total.`);
  }
  if (inv.min_unit > inv.max_unit) throw bad(`Unable to update inventory for resource provider ${uuid}: Invalid inventory for '${rc}': min_unit ${inv.min_unit} is greater than max_unit ${inv.max_unit}.`);
  return inv;
}
