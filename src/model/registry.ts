import { androidDeviceOwnerEnrollmentProfile } from './androidDeviceOwnerEnrollmentProfile.js';
import { androidForWorkEnrollmentProfile } from './androidForWorkEnrollmentProfile.js';
import { androidManagedStoreAccountEnterpriseSettings } from './androidManagedStoreAccountEnterpriseSettings.js';
import type { EntityDef } from './edm.js';

/**
 * Every entity and singleton the server serves. Routing, `$metadata`, storage, snapshots, reset and
 * the seed file iterate this list; adding an entity is a model file, its entry here, its domain
 * behaviour (if any) and a migration.
 */
export const ENTITIES: readonly EntityDef[] = [
  androidForWorkEnrollmentProfile,
  androidDeviceOwnerEnrollmentProfile,
  androidManagedStoreAccountEnterpriseSettings,
];

export function entityByType(typeName: string): EntityDef | undefined {
  return ENTITIES.find((e) => e.typeName === typeName);
}
