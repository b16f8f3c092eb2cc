{{/* Shared pieces of the control-plane templates. */}}

{{/* The trust domain: identityTrustDomain, else the cluster domain. */}}
{{- define "trellis.trustDomain" -}}
{{- .Values.identityTrustDomain | default .Values.clusterDomain -}}
{{- end -}}

{{/* An image reference from an {name, version} block: (list $image $root). */}}
{{- define "trellis.image" -}}
{{- $image := index . 0 -}}{{- $root := index . 1 -}}
{{- printf "%s:%s" $image.name ($image.version | default $root.Values.linkerdVersion) -}}
{{- end -}}

{{/* A pull policy from an image block: (list $image $root). */}}
{{- define "trellis.pullPolicy" -}}
{{- $image := index . 0 -}}{{- $root := index . 1 -}}
{{- $image.pullPolicy | default $root.Values.imagePullPolicy -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "trellis.labels" -}}
linkerd.io/control-plane-ns: {{ .Release.Namespace }}
app.kubernetes.io/part-of: trellis
app.kubernetes.io/version: {{ .Values.linkerdVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component's objects: (list $root "identity"). */}}
{{- define "trellis.componentLabels" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{ include "trellis.labels" $root }}
linkerd.io/control-plane-component: {{ $component }}
app.kubernetes.io/name: {{ $component }}
{{- end -}}

{{/* The selector of one component's pods: (list $root "identity"). */}}
{{- define "trellis.selector" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
linkerd.io/control-plane-component: {{ $component }}
linkerd.io/control-plane-ns: {{ $root.Release.Namespace }}
{{- end -}}

{{/* Pod labels: (list $root "identity" "trellis-identity"). */}}
{{- define "trellis.podLabels" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}{{- $deployment := index . 2 -}}
{{ include "trellis.selector" (list $root $component) }}
linkerd.io/workload-ns: {{ $root.Release.Namespace }}
linkerd.io/proxy-deployment: {{ $deployment }}
app.kubernetes.io/name: {{ $component }}
app.kubernetes.io/part-of: trellis
app.kubernetes.io/version: {{ $root.Values.linkerdVersion | quote }}
{{- with $root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations every control-plane pod carries: (list $root $componentAnnotations). */}}
{{- define "trellis.podAnnotations" -}}
{{- $root := index . 0 -}}{{- $own := index . 1 -}}
linkerd.io/created-by: trellis/helm {{ $root.Values.linkerdVersion }}
linkerd.io/proxy-version: {{ $root.Values.proxy.image.version | default $root.Values.linkerdVersion | quote }}
linkerd.io/trust-root-sha256: {{ $root.Values.identityTrustAnchorsPEM | sha256sum }}
cluster-autoscaler.kubernetes.io/safe-to-evict: "true"
config.linkerd.io/default-inbound-policy: {{ $root.Values.proxy.defaultInboundPolicy }}
{{- with $root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- with $own }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A resources block from {cpu, memory, ephemeral-storage} × {limit, request}; empty renders nothing. */}}
{{- define "trellis.resources" -}}
{{- $limits := dict -}}{{- $requests := dict -}}
{{- range $kind := list "cpu" "memory" "ephemeral-storage" -}}
{{- with (index $ $kind) -}}
{{- if .limit }}{{ $_ := set $limits $kind .limit }}{{ end -}}
{{- if .request }}{{ $_ := set $requests $kind .request }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if or $limits $requests -}}
resources:
{{- with $limits }}
  limits:
{{ toYaml . | indent 4 }}
{{- end }}
{{- with $requests }}
  requests:
{{ toYaml . | indent 4 }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* Security context of a controller container: non-root, read-only root, no capabilities. */}}
{{- define "trellis.controllerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop:
      - ALL
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  runAsUser: {{ .Values.controllerUID }}
  {{- if ge (int .Values.controllerGID) 0 }}
  runAsGroup: {{ .Values.controllerGID }}
  {{- end }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Scheduling of a controller pod: node selector, tolerations, affinity, priority, pull secrets. */}}
{{- define "trellis.podScheduling" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{- with $root.Values.nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
{{ toYaml . | indent 2 }}
{{- end }}
{{- if or $root.Values.enablePodAntiAffinity $root.Values.nodeAffinity }}
affinity:
  {{- with $root.Values.nodeAffinity }}
  nodeAffinity:
{{ toYaml . | indent 4 }}
  {{- end }}
  {{- if $root.Values.enablePodAntiAffinity }}
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchExpressions:
            - key: linkerd.io/control-plane-component
              operator: In
              values:
                - {{ $component }}
        topologyKey: kubernetes.io/hostname
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          labelSelector:
            matchExpressions:
              - key: linkerd.io/control-plane-component
                operator: In
                values:
                  - {{ $component }}
          topologyKey: topology.kubernetes.io/zone
  {{- end }}
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $root.Values.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* The Deployment fields every controller shares (replicas, strategy, history). */}}
{{- define "trellis.deploymentSpec" -}}
replicas: {{ .Values.controllerReplicas }}
revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
strategy:
  type: RollingUpdate
  rollingUpdate:
{{ toYaml .Values.deploymentStrategy.rollingUpdate | indent 4 }}
{{- end -}}

{{/* The service-account token volume, explicit because automountServiceAccountToken is off: the proxy must not
     see the controller's API credentials. */}}
{{- define "trellis.kubeApiAccessVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 420
    sources:
      - serviceAccountToken:
          expirationSeconds: 3607
          path: token
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end -}}

{{/* A PodDisruptionBudget: (list $root "identity" "trellis-identity"). */}}
{{- define "trellis.pdb" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}{{- $name := index . 2 -}}
{{- if $root.Values.enablePodDisruptionBudget }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
{{ include "trellis.componentLabels" (list $root $component) | indent 4 }}
spec:
  maxUnavailable: {{ $root.Values.controller.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
{{ include "trellis.selector" (list $root $component) | indent 6 }}
{{- end }}
{{- end -}}

{{/* The checksum of a values subtree, for pod-template annotations: a change rolls only the pods that read it. */}}
{{- define "trellis.checksum" -}}
{{- toJson . | sha256sum -}}
{{- end -}}

{{/* The values the proxy injector reads from trellis-config (libs/inject's model): its pods roll when they change. */}}
{{- define "trellis.injectValues" -}}
{{- $v := .Values -}}
{{- $picked := pick $v "linkerdVersion" "clusterDomain" "clusterNetworks" "imagePullPolicy" "identityTrustAnchorsPEM" "identityTrustDomain" "disableIPv6" "cniEnabled" "debugContainer" "networkValidator" "proxy" "proxyInit" -}}
{{- $_ := set $picked "identity" (pick $v.identity "serviceAccountTokenProjection") -}}
{{- toJson $picked -}}
{{- end -}}

{{/* TLS material for a webhook Service: supplied PEMs, else the Secret already in the cluster (so upgrades keep
     the certificate and do not roll the pods), else a fresh self-signed certificate for <service>.<ns>.svc.
     (list $root $valuesBlock "trellis-proxy-injector" "trellis-proxy-injector-k8s-tls") → YAML {crt, key, ca}. */}}
{{- define "trellis.webhookTLS" -}}
{{- $root := index . 0 -}}{{- $v := index . 1 -}}{{- $service := index . 2 -}}{{- $secret := index . 3 -}}
{{- if $v.externalSecret -}}
crt: ""
key: ""
ca: {{ $v.caBundle | quote }}
{{- else if $v.crtPEM -}}
crt: {{ $v.crtPEM | quote }}
key: {{ $v.keyPEM | quote }}
ca: {{ $v.caBundle | default $v.crtPEM | quote }}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace $secret -}}
{{- if and $existing (index ($existing.data | default dict) "tls.crt") (index ($existing.data | default dict) "tls.key") -}}
crt: {{ index $existing.data "tls.crt" | b64dec | quote }}
key: {{ index $existing.data "tls.key" | b64dec | quote }}
ca: {{ index $existing.data "tls.crt" | b64dec | quote }}
{{- else -}}
{{- $host := printf "%s.%s.svc" $service $root.Release.Namespace -}}
{{- $cert := genSelfSignedCert $host (list) (list $host) 365 -}}
crt: {{ $cert.Cert | quote }}
key: {{ $cert.Key | quote }}
ca: {{ $cert.Cert | quote }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Annotations asking cert-manager to inject the webhook's CA. */}}
{{- define "trellis.injectCaAnnotations" -}}
{{- if .injectCaFrom }}
cert-manager.io/inject-ca-from: {{ .injectCaFrom }}
{{- end }}
{{- if .injectCaFromSecret }}
cert-manager.io/inject-ca-from-secret: {{ .injectCaFromSecret }}
{{- end }}
{{- end -}}

{{/* --trace-collector for identity and destination, when controller tracing is on (Linkerd's partials.linkerd.trace). */}}
{{- define "trellis.traceCollectorArg" -}}
{{- if .Values.controller.tracing.enabled -}}
{{- $endpoint := .Values.controller.tracing.collector.endpoint | default .Values.proxy.tracing.collector.endpoint -}}
{{- if not $endpoint -}}
{{- fail "controller.tracing.collector.endpoint or proxy.tracing.collector.endpoint must be set when controller.tracing.enabled is true" -}}
{{- end -}}
{{- printf "- --trace-collector=%s" $endpoint -}}
{{- end -}}
{{- end }}
