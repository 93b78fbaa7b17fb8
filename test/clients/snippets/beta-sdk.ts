import type { TokenCredential } from '@azure/identity';
import {
  AllowedHostsValidator,
  BaseBearerTokenAuthenticationProvider,
  type AuthenticationProvider,
  type NavigationMetadata,
  type RequestConfiguration,
  type RequestMetadata,
} from '@microsoft/kiota-abstractions';
import { createGraphBetaServiceClient, extendGraphBetaServiceClient, GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createAndroidForWorkEnrollmentProfileCollectionResponseFromDiscriminatorValue,
  createAndroidForWorkEnrollmentProfileFromDiscriminatorValue,
  serializeAndroidForWorkEnrollmentProfile,
  type AndroidForWorkEnrollmentProfile,
  type AndroidForWorkEnrollmentProfileCollectionResponse,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import { GraphAzureIdentityAuthenticationProvider } from '@microsoft/msgraph-sdk-core';

// The beta SDK's request builders for deviceManagement are not published on npm (only the core,
// the models and the errors are), so this table declares androidForWorkEnrollmentProfiles through
// the SDK's own extension hook. It runs before any client is created.
const collection = '{+baseurl}/deviceManagement/androidForWorkEnrollmentProfiles';
const item = `${collection}/{androidForWorkEnrollmentProfile%2Did}`;
const errorMappings = { XXX: createODataErrorFromDiscriminatorValue };
const send = (uriTemplate: string, extra: Partial<RequestMetadata> = {}): RequestMetadata => ({
  uriTemplate,
  errorMappings,
  adapterMethodName: 'send',
  responseBodyContentType: 'application/json',
  responseBodyFactory: createAndroidForWorkEnrollmentProfileFromDiscriminatorValue,
  ...extra,
});
const withBody = { requestBodyContentType: 'application/json', requestBodySerializer: serializeAndroidForWorkEnrollmentProfile, requestInformationContentSetMethod: 'setContentFromParsable' } as const;
const noContent = (uriTemplate: string, extra: Partial<RequestMetadata> = {}): RequestMetadata => ({ uriTemplate, errorMappings, adapterMethodName: 'sendNoResponseContent', ...extra });
const query = { count: '%24count', filter: '%24filter', orderby: '%24orderby', search: '%24search', select: '%24select', skip: '%24skip', top: '%24top', expand: '%24expand' };

const profiles: NavigationMetadata = {
  requestsMetadata: {
    get: send(`${collection}{?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}`, {
      responseBodyFactory: createAndroidForWorkEnrollmentProfileCollectionResponseFromDiscriminatorValue,
      queryParametersMapper: query,
    }),
    post: send(collection, withBody),
  },
  navigationMetadata: {
    byAndroidForWorkEnrollmentProfileId: {
      pathParametersMappings: ['androidForWorkEnrollmentProfile%2Did'],
      requestsMetadata: {
        get: send(`${item}{?%24expand,%24select}`, { queryParametersMapper: query }),
        patch: send(item, withBody),
        delete: noContent(item),
      },
      navigationMetadata: {
        createToken: {
          requestsMetadata: {
            post: noContent(`${item}/createToken`, {
              requestBodyContentType: 'application/json',
              requestInformationContentSetMethod: 'setContentFromParsable',
              requestBodySerializer: (writer, body) => writer.writeNumberValue('tokenValidityInSeconds', (body as { tokenValidityInSeconds?: number } | undefined)?.tokenValidityInSeconds),
            }),
          },
        },
        revokeToken: { requestsMetadata: { post: noContent(`${item}/revokeToken`) } },
      },
    },
  },
};
extendGraphBetaServiceClient({ deviceManagement: { navigationMetadata: { androidForWorkEnrollmentProfiles: profiles } } } as never);

type Config<Q extends object = object> = RequestConfiguration<Q>;
export interface EnrollmentProfiles {
  get(config?: Config<{ top?: number; skip?: number; select?: string[]; filter?: string; orderby?: string[]; count?: boolean }>): Promise<AndroidForWorkEnrollmentProfileCollectionResponse | undefined>;
  post(body: AndroidForWorkEnrollmentProfile, config?: Config): Promise<AndroidForWorkEnrollmentProfile | undefined>;
  byAndroidForWorkEnrollmentProfileId(id: string): EnrollmentProfile;
  withUrl(rawUrl: string): EnrollmentProfiles;
}
export interface EnrollmentProfile {
  get(config?: Config<{ select?: string[] }>): Promise<AndroidForWorkEnrollmentProfile | undefined>;
  patch(body: AndroidForWorkEnrollmentProfile, config?: Config): Promise<AndroidForWorkEnrollmentProfile | undefined>;
  delete(config?: Config): Promise<void>;
  createToken: { post(body: { tokenValidityInSeconds: number }, config?: Config): Promise<void> };
  revokeToken: { post(config?: Config): Promise<void> };
}

/** `…/beta/deviceManagement/androidForWorkEnrollmentProfiles` of an Enrollgraph server (http or https). */
export function enrollmentProfiles(server: string, auth: AuthenticationProvider): EnrollmentProfiles {
  const adapter = new GraphBetaRequestAdapter(auth);
  adapter.baseUrl = `${server}/beta`; // Kiota's base URL includes the version
  const client = createGraphBetaServiceClient(adapter) as unknown as { deviceManagement: { androidForWorkEnrollmentProfiles: EnrollmentProfiles } };
  return client.deviceManagement.androidForWorkEnrollmentProfiles;
}

/** A token you already have (`enrollgraph token`, or any OAuth client), sent only to this server's host. */
export function bearerToken(server: string, getToken: () => Promise<string>): AuthenticationProvider {
  const hosts = new AllowedHostsValidator(new Set([new URL(server).hostname]));
  return new BaseBearerTokenAuthenticationProvider({
    getAuthorizationToken: async (url?: string) => (url && hosts.isUrlHostValid(url) ? getToken() : ''),
    getAllowedHostsValidator: () => hosts,
  });
}

/** Tokens from an Azure Identity credential (its authority must be https). */
export function azureIdentity(server: string, credential: TokenCredential): AuthenticationProvider {
  // Without the allowed host the provider silently sends no token to a non-Microsoft host.
  return new GraphAzureIdentityAuthenticationProvider(credential, ['https://graph.microsoft.com/.default'], undefined, new Set([new URL(server).hostname]));
}
