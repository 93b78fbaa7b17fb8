import type { EntityBehaviour } from '../domain/behaviour.js';
import { withRole, type AnyRecord } from '../model/edm.js';
import { androidForWorkEnrollmentProfile } from '../model/androidForWorkEnrollmentProfile.js';
import { cloudDpcQrContent } from './qr.js';

const token = withRole(androidForWorkEnrollmentProfile, 'token')!.name;

/** androidForWorkEnrollmentProfile: a token, and the CloudDPC QR payload that carries it (SPEC §2). */
export const androidForWorkBehaviour: EntityBehaviour = {
  tokens: {
    qrContent: (r: AnyRecord) => cloudDpcQrContent(r[token] as string),
  },
};
