/** Nova's instance states (nova/compute/vm_states.py, task_states.py, power_state.py) and the API status they show as. */

export const VM = {
  ACTIVE: 'active', BUILDING: 'building', PAUSED: 'paused', SUSPENDED: 'suspended', STOPPED: 'stopped',
  RESCUED: 'rescued', RESIZED: 'resized', SOFT_DELETED: 'soft-delete', DELETED: 'deleted', ERROR: 'error',
  SHELVED: 'shelved', SHELVED_OFFLOADED: 'shelved_offloaded',
} as const;

export const TASK = {
  SCHEDULING: 'scheduling', NETWORKING: 'networking', SPAWNING: 'spawning', BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  IMAGE_SNAPSHOT: 'image_snapshot', IMAGE_SNAPSHOT_PENDING: 'image_snapshot_pending', IMAGE_PENDING_UPLOAD: 'image_pending_upload', IMAGE_UPLOADING: 'image_uploading',
  UPDATING_PASSWORD: 'updating_password',
  RESIZE_PREP: 'resize_prep', RESIZE_MIGRATING: 'resize_migrating', RESIZE_MIGRATED: 'resize_migrated', RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting', RESIZE_CONFIRMING: 'resize_confirming',
  REBOOTING: 'rebooting', REBOOT_PENDING: 'reboot_pending', REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard', REBOOT_PENDING_HARD: 'reboot_pending_hard', REBOOT_STARTED_HARD: 'reboot_started_hard',
  PAUSING: 'pausing', UNPAUSING: 'unpausing', SUSPENDING: 'suspending', RESUMING: 'resuming',
  POWERING_OFF: 'powering-off', POWERING_ON: 'powering-on',
  RESCUING: 'rescuing', UNRESCUING: 'unrescuing',
  REBUILDING: 'rebuilding', REBUILD_BLOCK_DEVICE_MAPPING: 'rebuild_block_device_mapping', REBUILD_SPAWNING: 'rebuild_spawning',
  MIGRATING: 'migrating', DELETING: 'deleting', SOFT_DELETING: 'soft-deleting', RESTORING: 'restoring',
  SHELVING: 'shelving', SHELVING_IMAGE_PENDING_UPLOAD: 'shelving_image_pending_upload', SHELVING_IMAGE_UPLOADING: 'shelving_image_uploading',
  SHELVING_OFFLOADING: 'shelving_offloading', UNSHELVING: 'unshelving',
} as const;

export const POWER = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;

const REBOOT = new Set<string>([TASK.REBOOTING, TASK.REBOOT_PENDING, TASK.REBOOT_STARTED]);
const HARD_REBOOT = new Set<string>([TASK.REBOOTING_HARD, TASK.REBOOT_PENDING_HARD, TASK.REBOOT_STARTED_HARD]);
const REBUILD = new Set<string>([TASK.REBUILDING, TASK.REBUILD_BLOCK_DEVICE_MAPPING, TASK.REBUILD_SPAWNING]);
const RESIZE = new Set<string>([TASK.RESIZE_PREP, TASK.RESIZE_MIGRATING, TASK.RESIZE_MIGRATED, TASK.RESIZE_FINISH]);

/** The API `status` of a server (nova/api/openstack/common.py status_from_state). */
export function statusOf(vmState: string, taskState: string | null): string {
  const t = taskState ?? '';
  switch (vmState) {
    case VM.ACTIVE:
      if (REBOOT.has(t)) return 'REBOOT';
      if (HARD_REBOOT.has(t)) return 'HARD_REBOOT';
      if (t === TASK.UPDATING_PASSWORD) return 'PASSWORD';
      if (REBUILD.has(t)) return 'REBUILD';
      if (t === TASK.MIGRATING) return 'MIGRATING';
      if (RESIZE.has(t)) return 'RESIZE';
      return 'ACTIVE';
    case VM.BUILDING: return 'BUILD';
    case VM.STOPPED:
      if (RESIZE.has(t)) return 'RESIZE';
      if (REBUILD.has(t)) return 'REBUILD';
      return 'SHUTOFF';
    case VM.RESIZED: return t === TASK.RESIZE_REVERTING ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case VM.PAUSED: return 'PAUSED';
    case VM.SUSPENDED: return 'SUSPENDED';
    case VM.RESCUED: return 'RESCUE';
    case VM.ERROR: return REBUILD.has(t) ? 'REBUILD' : 'ERROR';
    case VM.DELETED: return 'DELETED';
    case VM.SOFT_DELETED: return 'SOFT_DELETED';
    case VM.SHELVED: return 'SHELVED';
    case VM.SHELVED_OFFLOADED: return 'SHELVED_OFFLOADED';
    default: return 'UNKNOWN';
  }
}

/** vm_states a status filter means (the reverse map, for ?status=). undefined: unknown status. */
export function vmStatesOf(status: string): { vm: string[]; task?: string[] } | undefined {
  switch (status.toUpperCase()) {
    case 'ACTIVE': return { vm: [VM.ACTIVE] };
    case 'BUILD': return { vm: [VM.BUILDING] };
    case 'SHUTOFF': return { vm: [VM.STOPPED] };
    case 'PAUSED': return { vm: [VM.PAUSED] };
    case 'SUSPENDED': return { vm: [VM.SUSPENDED] };
    case 'RESCUE': return { vm: [VM.RESCUED] };
    case 'ERROR': return { vm: [VM.ERROR] };
    case 'DELETED': return { vm: [VM.DELETED] };
    case 'SOFT_DELETED': return { vm: [VM.SOFT_DELETED] };
    case 'SHELVED': return { vm: [VM.SHELVED] };
    case 'SHELVED_OFFLOADED': return { vm: [VM.SHELVED_OFFLOADED] };
    case 'VERIFY_RESIZE': return { vm: [VM.RESIZED] };
    case 'REBOOT': return { vm: [VM.ACTIVE], task: [...REBOOT] };
    case 'HARD_REBOOT': return { vm: [VM.ACTIVE], task: [...HARD_REBOOT] };
    case 'REBUILD': return { vm: [VM.ACTIVE, VM.STOPPED, VM.ERROR], task: [...REBUILD] };
    case 'RESIZE': return { vm: [VM.ACTIVE, VM.STOPPED], task: [...RESIZE] };
    case 'MIGRATING': return { vm: [VM.ACTIVE], task: [TASK.MIGRATING] };
    default: return undefined;
  }
}

export const powerStateOf = (p: string): number =>
  ({ running: POWER.RUNNING, paused: POWER.PAUSED, shutdown: POWER.SHUTDOWN, crashed: POWER.CRASHED, suspended: POWER.SUSPENDED } as Record<string, number>)[p] ?? POWER.NOSTATE;
