import { androidDeviceOwnerBehaviour } from '../enrollment/androidDeviceOwner.js';
import { androidForWorkBehaviour } from '../enrollment/androidForWork.js';
import { ManagedPlay, type ManagedPlayDeps } from '../enrollment/managedPlay.js';
import type { EntityBehaviour } from './behaviour.js';

/** Each entity's domain behaviour by type name (entities without behaviour need no entry). */
export function behaviours(deps: ManagedPlayDeps): { behaviours: ReadonlyMap<string, EntityBehaviour>; managedPlay: ManagedPlay } {
  const managedPlay = new ManagedPlay(deps);
  return {
    managedPlay,
    behaviours: new Map([
      ['androidForWorkEnrollmentProfile', androidForWorkBehaviour],
      ['androidDeviceOwnerEnrollmentProfile', androidDeviceOwnerBehaviour(managedPlay)],
      ['androidManagedStoreAccountEnterpriseSettings', managedPlay.behaviour],
    ]),
  };
}
