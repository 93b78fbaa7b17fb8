/**
 * The Managed Google Play binding (androidManagedStoreAccountEnterpriseSettings), one per tenant,
 * and Enrollgraph's stand-in for Google's signup (SPEC §6; the flow mirrors Google Play EMM's
 * generateSignupUrl/completeSignup, see the reference notes on the Android Enterprise family §6):
 *
 * 1. `requestSignupUrl(hostName)` answers the URL of a page Enrollgraph serves in Google's place;
 * 2. submitting that page (POST) answers 303 to `https://{hostName}/?enterpriseToken=T`, where T is
 *    single-use and bound to the tenant;
 * 3. `completeSignup(T)` binds the tenant; any other token, or T a second time, is a 400.
 *
 * A tenant starts `boundAndValidated`, owned by the first caller's UPN, so a new test starts where a
 * real tenant in use is. Signup links and enterprise tokens are kept as control settings, whose
 * compare-and-set makes "single use" hold across every process on the store.
 */
import { randomBytes } from 'node:crypto';
import type { Caller, EntityBehaviour } from '../domain/behaviour.js';
import {
  androidManagedStoreAccountEnterpriseSettings as def, type AndroidManagedStoreAccountEnterpriseSettings as Settings,
} from '../model/androidManagedStoreAccountEnterpriseSettings.js';
import type { AnyRecord } from '../model/edm.js';
import { conflict, invalid } from '../problem.js';
import type { ControlStore } from '../store/control.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../time.js';

/** Where the stand-in signup page is served: `{SIGNUP_PATH}/{signup id}`. */
export const SIGNUP_PATH = '/managed-google-play/signup';

export interface ManagedPlayDeps {
  store: Store;
  settings: Pick<ControlStore, 'getSetting' | 'initSetting' | 'replaceSetting'>;
  clock: Clock;
}

const signupKey = (id: string) => `managed-play-signup:${id}`;
const enterpriseTokenKey = (token: string) => `managed-play-enterprise-token:${token}`;
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::\d{1,5})?$/;

function organizationOf(upn: string | undefined): string | null {
  const at = upn?.lastIndexOf('@') ?? -1;
  return upn && at >= 0 ? upn.slice(at + 1) : null;
}

const random = (bytes: number) => randomBytes(bytes).toString('base64url');

export class ManagedPlay {
  constructor(private readonly deps: ManagedPlayDeps) {}

  /** The tenant's binding state (a tenant never seen is bound, as it will be when first read). */
  async bindStatus(tenantId: string): Promise<string> {
    const r = await this.deps.store.get(def, tenantId, tenantId);
    return r ? (r as unknown as Settings).bindStatus : 'boundAndValidated';
  }

  private async set(tenantId: string, values: Partial<Settings>): Promise<void> {
    const set: Record<string, unknown> = { ...values, lastModifiedDateTime: this.deps.clock.nowUs() };
    await this.deps.store.update(def, tenantId, tenantId, { set });
  }

  private async bound(tenantId: string, what: string): Promise<void> {
    if ((await this.bindStatus(tenantId)) === 'notBound') {
      throw conflict(`${what} needs the tenant's Managed Google Play binding, and the tenant is not bound. Bind it first (requestSignupUrl, then completeSignup).`);
    }
  }

  /**
   * Marks the single-use setting `key` (stored as `text`) used. True for one caller only: each claim
   * writes a value of its own (a nonce), so a caller that lost the race does not read back its value.
   */
  private async claim(key: string, text: string, value: object): Promise<boolean> {
    const used = JSON.stringify({ ...value, used: true, claim: random(12) });
    return (await this.deps.settings.replaceSetting(key, text, used)) === used;
  }

  /** The page of a signup link: its host name, while the link is unused. */
  async signupPage(id: string): Promise<{ hostName: string } | undefined> {
    const text = await this.deps.settings.getSetting(signupKey(id));
    const link = text && (JSON.parse(text) as { hostName: string; used?: boolean });
    return link && !link.used ? { hostName: link.hostName } : undefined;
  }

  /** The signup page was submitted: a single-use enterprise token and where Google would send the admin. */
  async submitSignup(id: string): Promise<string | undefined> {
    const key = signupKey(id);
    const text = await this.deps.settings.getSetting(key);
    if (!text) return undefined;
    const link = JSON.parse(text) as { tenantId: string; hostName: string; used?: boolean };
    if (link.used || !(await this.claim(key, text, link))) return undefined;
    const token = random(24);
    await this.deps.settings.initSetting(enterpriseTokenKey(token), JSON.stringify({ tenantId: link.tenantId, used: false }));
    return `https://${link.hostName}/?enterpriseToken=${encodeURIComponent(token)}`;
  }

  readonly behaviour: EntityBehaviour = {
    initial: (caller: Caller) => ({
      ownerUserPrincipalName: caller.upn ?? null,
      ownerOrganizationName: organizationOf(caller.upn),
      lastAppSyncDateTime: this.deps.clock.nowUs(),
      lastAppSyncStatus: 'success',
    }),
    derive: () => ({ companyCodes: [] }),
    actions: {
      requestSignupUrl: async ({ tenantId, params, baseUrl }) => {
        const hostName = params.hostName;
        if (typeof hostName !== 'string' || !HOST_NAME.test(hostName)) {
          throw invalid("The parameter 'hostName' must be a host name (the host the signup returns to, e.g. 'intune.microsoft.com').", 'hostName');
        }
        const id = random(18);
        await this.deps.settings.initSetting(signupKey(id), JSON.stringify({ tenantId, hostName, createdUs: this.deps.clock.nowUs() }));
        return `${baseUrl}${SIGNUP_PATH}/${id}`;
      },
      completeSignup: async ({ tenantId, params, caller }) => {
        const token = params.enterpriseToken;
        const refused = invalid("The parameter 'enterpriseToken' is not a valid enterprise token of this tenant: it is unknown, was used already, or belongs to another tenant.", 'enterpriseToken');
        if (typeof token !== 'string' || token === '') throw refused;
        const key = enterpriseTokenKey(token);
        const text = await this.deps.settings.getSetting(key);
        const held = text && (JSON.parse(text) as { tenantId: string; used: boolean });
        if (!held || held.used || held.tenantId !== tenantId) throw refused;
        if (!(await this.claim(key, text, held))) throw refused;
        await this.set(tenantId, {
          bindStatus: 'boundAndValidated',
          ownerUserPrincipalName: caller.upn ?? null,
          ownerOrganizationName: organizationOf(caller.upn),
          managedGooglePlayEnterpriseType: 'managedGoogleDomain',
        });
      },
      unbind: async ({ tenantId }) => {
        await this.set(tenantId, {
          bindStatus: 'notBound', ownerUserPrincipalName: null, ownerOrganizationName: null,
          managedGooglePlayEnterpriseType: 'enterpriseTypeUnspecified', lastAppSyncStatus: 'none',
        });
      },
      syncApps: async ({ tenantId }) => {
        const bound = (await this.bindStatus(tenantId)) !== 'notBound';
        await this.set(tenantId, { lastAppSyncDateTime: this.deps.clock.nowUs(), lastAppSyncStatus: bound ? 'success' : 'credentialsNotValid' });
      },
      setAndroidDeviceOwnerFullyManagedEnrollmentState: async ({ tenantId, params }) => {
        await this.set(tenantId, { androidDeviceOwnerFullyManagedEnrollmentEnabled: params.enabled as boolean });
      },
      createGooglePlayWebToken: async ({ tenantId, params }) => {
        const uri = params.parentUri;
        let ok = false;
        try {
          ok = typeof uri === 'string' && new URL(uri).protocol === 'https:';
        } catch {
          ok = false;
        }
        if (!ok) throw invalid("The parameter 'parentUri' must be the https URL of the page that embeds the managed Google Play iframe.", 'parentUri');
        await this.bound(tenantId, 'A managed Google Play web token');
        return `WA${random(30)}`;
      },
    },
  };

  /** For the GMS-mode profiles' tokens (src/enrollment/androidDeviceOwner.ts). */
  requireBinding(record: AnyRecord, what: string): Promise<void> {
    return this.bound(record.tenantId, what);
  }
}
