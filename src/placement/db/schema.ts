/** The placement service's tables (its own database or PostgreSQL schema). */
export interface ProviderRow {
  uuid: string;
  name: string;
  generation: number;
  parent_uuid: string | null;
  root_uuid: string;
  created_at: string;
  updated_at: string;
}
export interface InventoryRow {
  provider_uuid: string;
  resource_class: string;
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
}
export interface AllocationRow {
  provider_uuid: string;
  consumer_uuid: string;
  resource_class: string;
  used: number;
  created_at: string;
}
export interface ConsumerRow {
  uuid: string;
  project_id: string;
  user_id: string;
  consumer_type: string | null;
  generation: number;
  created_at: string;
  updated_at: string;
}
export interface PlacementDB {
  resource_provider: ProviderRow;
  inventory: InventoryRow;
  allocation: AllocationRow;
  consumer: ConsumerRow;
  custom_resource_class: { name: string; created_at: string };
  custom_trait: { name: string; created_at: string };
  provider_trait: { provider_uuid: string; trait: string };
  provider_aggregate: { provider_uuid: string; aggregate_uuid: string };
}
