import type { EntityBehaviour } from '../domain/behaviour.js';
import type { AndroidForWorkEnrollmentProfile } from '../model/androidForWorkEnrollmentProfile.js';
import type { AnyRecord } from '../model/edm.js';
import { cloudDpcQrContent } from './qr.js';

/** androidForWorkEnrollmentProfile: a token, and the CloudDPC QR payload that carries it (SPEC §2). */
export const androidForWorkBehaviour: EntityBehaviour = {
  tokens: {
    qrContent: (r: AnyRecord) => cloudDpcQrContent((r as unknown as AndroidForWorkEnrollmentProfile).tokenValue!),
  },
};
