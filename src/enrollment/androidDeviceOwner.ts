/**
 * androidDeviceOwnerEnrollmentProfile's behaviour by enrollment mode (SPEC §6; facts and sources in
 * the reference notes on the Android Enterprise family §4–§5):
 * - token caps: AOSP userless 90 days (Microsoft's AOSP sample calls 7,776,000 s the maximum); every
 *   other mode 65 years, as the first entity;
 * - token values: fully managed and corporate-owned work profile tokens are 8 letters (Intune shows
 *   such "eight-digit strings"), the others 20;
 * - QR content: the CloudDPC provisioning JSON for the GMS modes; for AOSP modes base64 of a JSON
 *   provisioning payload (Microsoft's AOSP sample base64-decodes, then JSON-parses it), with the
 *   Wi-Fi extras when `configureWifi` is set and an SSID is given. The AOSP payload's own keys are
 *   not published: Enrollgraph's stand-in uses Android's standard provisioning extras, with the
 *   token in the admin extras bundle (docs/android-enterprise.md);
 * - the path key `AOSP-{id}` names the profile `{id}`, as Microsoft's own AOSP sample calls it.
 */
import type { EntityBehaviour } from '../domain/behaviour.js';
import type { AndroidDeviceOwnerEnrollmentProfile as Profile } from '../model/androidDeviceOwnerEnrollmentProfile.js';
import type { AnyRecord } from '../model/edm.js';
import { MAX_TOKEN_VALIDITY_SECONDS } from '../model/common.js';
import { cloudDpcQrContent } from './qr.js';
import { newTokenValue } from './token.js';

/** Records of this entity, typed from its definition (so property names are checked against it). */
const profile = (r: AnyRecord) => r as unknown as Profile;
const mode = (r: AnyRecord): string => profile(r).enrollmentMode;

export const AOSP_MODES: ReadonlySet<string> = new Set(['corporateOwnedAOSPUserlessDevice', 'corporateOwnedAOSPUserAssociatedDevice']);
/** AOSP userless tokens last at most 90 days. */
export const AOSP_USERLESS_MAX_SECONDS = 7_776_000;
const SHORT_TOKEN_MODES: ReadonlySet<string> = new Set(['corporateOwnedFullyManaged', 'corporateOwnedWorkProfile']);

const WIFI_SECURITY: Record<string, string> = { none: 'NONE', wpa: 'WPA', wep: 'WEP' };

/** Stand-in AOSP provisioning payload (its published keys only: Android's provisioning extras). */
export function aospQrContent(record: AnyRecord): string {
  const r = profile(record);
  const payload: Record<string, unknown> = {
    'android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME': 'com.microsoft.windowsintune.companyportal/com.microsoft.omadm.client.PolicyManagerReceiver',
    'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE': { 'com.microsoft.intune.EXTRA_ENROLLMENT_TOKEN': r.tokenValue },
  };
  if (r.configureWifi && r.wifiSsid) {
    payload['android.app.extra.PROVISIONING_WIFI_SSID'] = r.wifiSsid;
    payload['android.app.extra.PROVISIONING_WIFI_HIDDEN'] = r.wifiHidden;
    payload['android.app.extra.PROVISIONING_WIFI_SECURITY_TYPE'] = WIFI_SECURITY[r.wifiSecurityType] ?? 'NONE';
    if (r.wifiPassword) payload['android.app.extra.PROVISIONING_WIFI_PASSWORD'] = r.wifiPassword;
  }
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
}

/**
 * `binding`: GMS-mode tokens need the tenant's Managed Google Play binding (AOSP does not use Google
 * Play); while the tenant is not bound, createToken on such a profile is refused and changes nothing.
 */
export function androidDeviceOwnerBehaviour(binding: { requireBinding(r: AnyRecord, what: string): Promise<void> }): EntityBehaviour {
  return {
    tokens: {
      qrContent: (r) => (AOSP_MODES.has(mode(r)) ? aospQrContent(r) : cloudDpcQrContent(profile(r).tokenValue!)),
      maxValiditySeconds: (r) => (mode(r) === 'corporateOwnedAOSPUserlessDevice' ? AOSP_USERLESS_MAX_SECONDS : MAX_TOKEN_VALIDITY_SECONDS),
      newToken: (r) => newTokenValue(SHORT_TOKEN_MODES.has(mode(r)) ? 8 : 20),
      checkCreate: (r) => (AOSP_MODES.has(mode(r)) ? Promise.resolve() : binding.requireBinding(r, `A token of a ${mode(r)} profile`)),
    },
    keyToId: (key) => (key.startsWith('AOSP-') ? key.slice('AOSP-'.length) : key),
  };
}
