import { androidDeviceOwnerBehaviour } from '../enrollment/androidDeviceOwner.js';
import { androidForWorkBehaviour } from '../enrollment/androidForWork.js';
import type { EntityBehaviour } from './behaviour.js';

/** Each entity's domain behaviour by type name (entities without behaviour need no entry). */
export const BEHAVIOURS: ReadonlyMap<string, EntityBehaviour> = new Map([
  ['androidForWorkEnrollmentProfile', androidForWorkBehaviour],
  ['androidDeviceOwnerEnrollmentProfile', androidDeviceOwnerBehaviour],
]);
