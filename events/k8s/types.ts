/**
 * Shape of the AdmissionReview fixtures in this folder (`admission.k8s.io/v1`), as the
 * Kubernetes documentation describes the request. Objects are left open: each kind's
 * object is whatever its API group serialises.
 */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionReviewRequestFixture {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: {
    uid: string;
    kind: GroupVersionKind;
    resource: GroupVersionResource;
    subResource?: string;
    requestKind?: GroupVersionKind;
    requestResource?: GroupVersionResource;
    requestSubResource?: string;
    name?: string;
    namespace?: string;
    operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    userInfo: {
      username?: string;
      uid?: string;
      groups?: string[];
      extra?: Record<string, string[]>;
    };
    object: Record<string, unknown>;
    oldObject: Record<string, unknown> | null;
    options?: Record<string, unknown>;
    dryRun?: boolean;
  };
}
