{{/* Shared pieces of the CRD templates: labels and OpenAPI fragments several CRDs use. */}}

{{- define "trellisCrds.labels" -}}
linkerd.io/control-plane-ns: {{ .Release.Namespace }}
app.kubernetes.io/part-of: trellis
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Whether the Gateway API route CRDs are rendered. */}}
{{- define "trellisCrds.httpRoutes" -}}
{{- if kindIs "invalid" .Values.enableHttpRoutes -}}
{{- if .Values.installGatewayAPI }}true{{ end -}}
{{- else if .Values.enableHttpRoutes }}true{{ end -}}
{{- end -}}

{{/* A Kubernetes LabelSelector. */}}
{{- define "trellisCrds.labelSelector" -}}
type: object
properties:
  matchLabels:
    type: object
    additionalProperties:
      type: string
  matchExpressions:
    type: array
    items:
      type: object
      required: [key, operator]
      properties:
        key:
          type: string
        operator:
          type: string
          enum: [In, NotIn, Exists, DoesNotExist]
        values:
          type: array
          items:
            type: string
{{- end -}}

{{/* A reference to another object by group, kind and name (policy targets and authentications). */}}
{{- define "trellisCrds.objectRef" -}}
type: object
required: [kind, name]
properties:
  group:
    description: API group of the referent; empty for the core group.
    type: string
    maxLength: 253
    pattern: ^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
  kind:
    type: string
    minLength: 1
    maxLength: 63
    pattern: ^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$
  name:
    type: string
    minLength: 1
    maxLength: 253
  namespace:
    description: Namespace of the referent; empty means the policy's own namespace.
    type: string
    maxLength: 63
{{- end -}}

{{/* A metav1.Condition, as route statuses report them. */}}
{{- define "trellisCrds.condition" -}}
type: object
required: [lastTransitionTime, message, reason, status, type]
properties:
  lastTransitionTime:
    type: string
    format: date-time
  message:
    type: string
    maxLength: 32768
  observedGeneration:
    type: integer
    format: int64
    minimum: 0
  reason:
    type: string
    minLength: 1
    maxLength: 1024
    pattern: ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
  status:
    type: string
    enum: ["True", "False", Unknown]
  type:
    type: string
    minLength: 1
    maxLength: 316
{{- end -}}

{{/* A route's parentRef (Gateway API shape; Linkerd routes attach to Servers and Services). */}}
{{- define "trellisCrds.parentRef" -}}
type: object
required: [name]
properties:
  group:
    type: string
    maxLength: 253
  kind:
    type: string
    maxLength: 63
  namespace:
    type: string
    maxLength: 63
  name:
    type: string
    minLength: 1
    maxLength: 253
  sectionName:
    type: string
    maxLength: 253
  port:
    type: integer
    format: int32
    minimum: 1
    maximum: 65535
{{- end -}}

{{/* The status of a route: one entry per parent it attached to (or failed to). */}}
{{- define "trellisCrds.routeStatus" -}}
type: object
properties:
  parents:
    type: array
    maxItems: 32
    items:
      type: object
      required: [controllerName, parentRef]
      properties:
        parentRef:
{{ include "trellisCrds.parentRef" . | indent 10 }}
        controllerName:
          type: string
          minLength: 1
          maxLength: 253
        conditions:
          type: array
          maxItems: 8
          items:
{{ include "trellisCrds.condition" . | indent 12 }}
{{- end -}}

{{/* HTTP header name/value modifications (RequestHeaderModifier, ResponseHeaderModifier). */}}
{{- define "trellisCrds.headerModifier" -}}
type: object
properties:
  set:
    type: array
    maxItems: 16
    items:
      type: object
      required: [name, value]
      properties:
        name:
          type: string
          minLength: 1
          maxLength: 256
        value:
          type: string
          minLength: 1
          maxLength: 4096
  add:
    type: array
    maxItems: 16
    items:
      type: object
      required: [name, value]
      properties:
        name:
          type: string
          minLength: 1
          maxLength: 256
        value:
          type: string
          minLength: 1
          maxLength: 4096
  remove:
    type: array
    maxItems: 16
    items:
      type: string
{{- end -}}

{{/* A header match of an HTTP or gRPC route. */}}
{{- define "trellisCrds.headerMatch" -}}
type: object
required: [name, value]
properties:
  type:
    type: string
    enum: [Exact, RegularExpression]
    default: Exact
  name:
    type: string
    minLength: 1
    maxLength: 256
  value:
    type: string
    maxLength: 4096
{{- end -}}

{{/* A backend of a route: a Service (or another kind) and port, with a weight. */}}
{{- define "trellisCrds.backendRef" -}}
type: object
required: [name]
properties:
  group:
    type: string
    maxLength: 253
  kind:
    type: string
    maxLength: 63
    default: Service
  name:
    type: string
    minLength: 1
    maxLength: 253
  namespace:
    type: string
    maxLength: 63
  port:
    type: integer
    format: int32
    minimum: 1
    maximum: 65535
  weight:
    type: integer
    format: int32
    minimum: 0
    maximum: 1000000
    default: 1
{{- end -}}

{{/* The spec of an HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io share its shape). */}}
{{- define "trellisCrds.httpRouteSpec" -}}
type: object
properties:
  parentRefs:
    type: array
    maxItems: 32
    items:
{{ include "trellisCrds.parentRef" . | indent 6 }}
  hostnames:
    type: array
    maxItems: 16
    items:
      type: string
      minLength: 1
      maxLength: 253
  rules:
    type: array
    maxItems: 16
    items:
      type: object
      properties:
        matches:
          type: array
          maxItems: 8
          items:
            type: object
            properties:
              path:
                type: object
                properties:
                  type:
                    type: string
                    enum: [Exact, PathPrefix, RegularExpression]
                    default: PathPrefix
                  value:
                    type: string
                    maxLength: 1024
                    default: /
              headers:
                type: array
                maxItems: 16
                items:
{{ include "trellisCrds.headerMatch" . | indent 18 }}
              queryParams:
                type: array
                maxItems: 16
                items:
{{ include "trellisCrds.headerMatch" . | indent 18 }}
              method:
                type: string
                enum: [GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH]
        filters:
          type: array
          maxItems: 16
          items:
{{ include "trellisCrds.httpFilter" . | indent 12 }}
        backendRefs:
          type: array
          maxItems: 16
          items:
            type: object
            required: [name]
            properties:
{{ (include "trellisCrds.backendRef" . | fromYaml).properties | toYaml | indent 14 }}
              filters:
                type: array
                maxItems: 16
                items:
{{ include "trellisCrds.httpFilter" . | indent 18 }}
        timeouts:
          description: Request timeouts as Gateway API durations (e.g. 10s, 1m, 500ms).
          type: object
          properties:
            request:
              type: string
              pattern: ^([0-9]{1,5}(h|m|s|ms)){1,4}$
            backendRequest:
              type: string
              pattern: ^([0-9]{1,5}(h|m|s|ms)){1,4}$
{{- end -}}

{{/* The filters an HTTP route rule or backend may carry. */}}
{{- define "trellisCrds.httpFilter" -}}
type: object
required: [type]
properties:
  type:
    type: string
    enum: [RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect]
  requestHeaderModifier:
{{ include "trellisCrds.headerModifier" . | indent 4 }}
  responseHeaderModifier:
{{ include "trellisCrds.headerModifier" . | indent 4 }}
  requestRedirect:
    type: object
    properties:
      scheme:
        type: string
        enum: [http, https]
      hostname:
        type: string
        maxLength: 253
      path:
        type: object
        required: [type]
        properties:
          type:
            type: string
            enum: [ReplaceFullPath, ReplacePrefixMatch]
          replaceFullPath:
            type: string
            maxLength: 1024
          replacePrefixMatch:
            type: string
            maxLength: 1024
      port:
        type: integer
        format: int32
        minimum: 1
        maximum: 65535
      statusCode:
        type: integer
        enum: [301, 302]
        default: 302
{{- end -}}
