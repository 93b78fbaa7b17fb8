/**
 * The beta SDK (Kiota) on the Android Enterprise family: `androidDeviceOwnerEnrollmentProfiles` and
 * the Managed Google Play binding `androidManagedStoreAccountEnterpriseSettings`, with the SDK's own
 * models, serializers, enums, errors and request adapter, and a hand-written navigation table (the
 * deviceManagement request builders are not published on npm; see snippets/beta-sdk.ts).
 *
 * The table is given to Kiota's proxifier directly, as `createGraphBetaServiceClient` does with the
 * registered one: `extendGraphBetaServiceClient` replaces a top-level entry (`deviceManagement`)
 * whole, so registering this table there would take androidForWorkEnrollmentProfiles away from the
 * README's snippet in the same process.
 */
import {
  apiClientProxifier, type AuthenticationProvider, type NavigationMetadata, type RequestConfiguration, type RequestMetadata, type SerializationWriter,
} from '@microsoft/kiota-abstractions';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createAndroidDeviceOwnerEnrollmentProfileCollectionResponseFromDiscriminatorValue,
  createAndroidDeviceOwnerEnrollmentProfileFromDiscriminatorValue,
  createAndroidManagedStoreAccountEnterpriseSettingsFromDiscriminatorValue,
  serializeAndroidDeviceOwnerEnrollmentProfile,
  serializeAndroidManagedStoreAccountEnterpriseSettings,
  type AndroidDeviceOwnerEnrollmentProfile,
  type AndroidDeviceOwnerEnrollmentProfileCollectionResponse,
  type AndroidManagedStoreAccountEnterpriseSettings,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';

const errorMappings = { XXX: createODataErrorFromDiscriminatorValue };
const query = { count: '%24count', expand: '%24expand', filter: '%24filter', orderby: '%24orderby', search: '%24search', select: '%24select', skip: '%24skip', top: '%24top' };
const json = 'application/json';
const noContent = (uriTemplate: string, extra: Partial<RequestMetadata> = {}): RequestMetadata => ({ uriTemplate, errorMappings, adapterMethodName: 'sendNoResponseContent', ...extra });
/** An action whose JSON body `write` writes (answered 204). */
const action = <B>(uriTemplate: string, write: (w: SerializationWriter, body: B | undefined) => void): RequestMetadata =>
  noContent(uriTemplate, {
    requestBodyContentType: json,
    requestInformationContentSetMethod: 'setContentFromParsable',
    requestBodySerializer: (w, body) => write(w, body as B | undefined),
  });

// ---- androidDeviceOwnerEnrollmentProfiles ---------------------------------------------------------

const profiles = '{+baseurl}/deviceManagement/androidDeviceOwnerEnrollmentProfiles';
const profile = `${profiles}/{androidDeviceOwnerEnrollmentProfile%2Did}`;
const sendProfile = (uriTemplate: string, extra: Partial<RequestMetadata> = {}): RequestMetadata => ({
  uriTemplate, errorMappings, adapterMethodName: 'send', responseBodyContentType: json,
  responseBodyFactory: createAndroidDeviceOwnerEnrollmentProfileFromDiscriminatorValue, ...extra,
});
const profileBody = { requestBodyContentType: json, requestBodySerializer: serializeAndroidDeviceOwnerEnrollmentProfile, requestInformationContentSetMethod: 'setContentFromParsable' } as const;

const deviceOwnerProfiles: NavigationMetadata = {
  requestsMetadata: {
    get: sendProfile(`${profiles}{?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}`, {
      responseBodyFactory: createAndroidDeviceOwnerEnrollmentProfileCollectionResponseFromDiscriminatorValue,
      queryParametersMapper: query,
    }),
    post: sendProfile(profiles, profileBody),
  },
  navigationMetadata: {
    byAndroidDeviceOwnerEnrollmentProfileId: {
      pathParametersMappings: ['androidDeviceOwnerEnrollmentProfile%2Did'],
      requestsMetadata: {
        get: sendProfile(`${profile}{?%24expand,%24select}`, { queryParametersMapper: query }),
        patch: sendProfile(profile, profileBody),
        delete: noContent(profile),
      },
      navigationMetadata: {
        createToken: {
          requestsMetadata: {
            post: action<{ tokenValidityInSeconds: number }>(`${profile}/createToken`, (w, b) => w.writeNumberValue('tokenValidityInSeconds', b?.tokenValidityInSeconds)),
          },
        },
        revokeToken: { requestsMetadata: { post: noContent(`${profile}/revokeToken`) } },
      },
    },
  },
};

// ---- androidManagedStoreAccountEnterpriseSettings -------------------------------------------------

const settings = '{+baseurl}/deviceManagement/androidManagedStoreAccountEnterpriseSettings';
const sendSettings = (uriTemplate: string, extra: Partial<RequestMetadata> = {}): RequestMetadata => ({
  uriTemplate, errorMappings, adapterMethodName: 'send', responseBodyContentType: json,
  responseBodyFactory: createAndroidManagedStoreAccountEnterpriseSettingsFromDiscriminatorValue, ...extra,
});

const managedStoreSettings: NavigationMetadata = {
  requestsMetadata: {
    get: sendSettings(`${settings}{?%24expand,%24select}`, { queryParametersMapper: query }),
    patch: sendSettings(settings, {
      requestBodyContentType: json, requestBodySerializer: serializeAndroidManagedStoreAccountEnterpriseSettings, requestInformationContentSetMethod: 'setContentFromParsable',
    }),
  },
  navigationMetadata: {
    unbind: { requestsMetadata: { post: noContent(`${settings}/unbind`) } },
    completeSignup: {
      requestsMetadata: {
        post: action<{ enterpriseToken: string }>(`${settings}/completeSignup`, (w, b) => w.writeStringValue('enterpriseToken', b?.enterpriseToken)),
      },
    },
  },
};

// ---- the typed surface ----------------------------------------------------------------------------

type Config<Q extends object = object> = RequestConfiguration<Q>;
export interface DeviceOwnerProfiles {
  get(config?: Config<{ top?: number; select?: string[]; filter?: string; orderby?: string[]; count?: boolean }>): Promise<AndroidDeviceOwnerEnrollmentProfileCollectionResponse | undefined>;
  post(body: AndroidDeviceOwnerEnrollmentProfile, config?: Config): Promise<AndroidDeviceOwnerEnrollmentProfile | undefined>;
  byAndroidDeviceOwnerEnrollmentProfileId(id: string): DeviceOwnerProfile;
}
export interface DeviceOwnerProfile {
  get(config?: Config<{ select?: string[] }>): Promise<AndroidDeviceOwnerEnrollmentProfile | undefined>;
  patch(body: AndroidDeviceOwnerEnrollmentProfile, config?: Config): Promise<AndroidDeviceOwnerEnrollmentProfile | undefined>;
  delete(config?: Config): Promise<void>;
  createToken: { post(body: { tokenValidityInSeconds: number }, config?: Config): Promise<void> };
  revokeToken: { post(config?: Config): Promise<void> };
}
export interface ManagedStoreSettings {
  get(config?: Config<{ select?: string[] }>): Promise<AndroidManagedStoreAccountEnterpriseSettings | undefined>;
  patch(body: AndroidManagedStoreAccountEnterpriseSettings, config?: Config): Promise<AndroidManagedStoreAccountEnterpriseSettings | undefined>;
  unbind: { post(config?: Config): Promise<void> };
  completeSignup: { post(body: { enterpriseToken: string }, config?: Config): Promise<void> };
}
export interface AndroidEnterprise {
  androidDeviceOwnerEnrollmentProfiles: DeviceOwnerProfiles;
  androidManagedStoreAccountEnterpriseSettings: ManagedStoreSettings;
}

/** `…/beta/deviceManagement` of an Enrollgraph server, for the Android Enterprise family. */
export function androidEnterprise(server: string, auth: AuthenticationProvider): AndroidEnterprise {
  const adapter = new GraphBetaRequestAdapter(auth);
  adapter.baseUrl = `${server}/beta`; // Kiota's base URL includes the version
  // The path parameters createGraphBetaServiceClient starts from.
  const client = apiClientProxifier<{ deviceManagement: AndroidEnterprise }>(adapter, { baseurl: adapter.baseUrl, 'user%2Did': 'TokenToReplace' }, {
    deviceManagement: {
      navigationMetadata: {
        androidDeviceOwnerEnrollmentProfiles: deviceOwnerProfiles,
        androidManagedStoreAccountEnterpriseSettings: managedStoreSettings,
      },
    },
  });
  return client.deviceManagement;
}
