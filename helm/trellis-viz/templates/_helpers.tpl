{{/* Shared pieces of the viz templates. */}}

{{/* An image reference from an {name, version} block: (list $image $root). */}}
{{- define "viz.image" -}}
{{- $image := index . 0 -}}{{- $root := index . 1 -}}
{{- printf "%s:%s" $image.name ($image.version | default $root.Values.linkerdVersion) -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "viz.labels" -}}
linkerd.io/extension: viz
app.kubernetes.io/part-of: trellis
app.kubernetes.io/version: {{ .Values.linkerdVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component's objects: (list $root "metrics-api"). */}}
{{- define "viz.componentLabels" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{ include "viz.labels" $root }}
component: {{ $component }}
app.kubernetes.io/name: {{ $component }}
{{- end -}}

{{/* The selector of one component's pods: (list $root "metrics-api"). */}}
{{- define "viz.selector" -}}
{{- $component := index . 1 -}}
linkerd.io/extension: viz
component: {{ $component }}
{{- end -}}

{{/* Pod labels: (list $root "metrics-api"). */}}
{{- define "viz.podLabels" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{ include "viz.selector" (list $root $component) }}
app.kubernetes.io/name: {{ $component }}
app.kubernetes.io/part-of: trellis
app.kubernetes.io/version: {{ $root.Values.linkerdVersion | quote }}
{{- with $root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations: meshed by Trellis, the proxy ready before the app starts. (list $root $componentAnnotations). */}}
{{- define "viz.podAnnotations" -}}
{{- $root := index . 0 -}}{{- $own := index . 1 -}}
linkerd.io/created-by: trellis/helm {{ $root.Values.linkerdVersion }}
linkerd.io/inject: enabled
config.linkerd.io/proxy-await: enabled
{{- with $root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- with $own }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A resources block from {cpu, memory} × {limit, request}; empty renders nothing. */}}
{{- define "viz.resources" -}}
{{- $limits := dict -}}{{- $requests := dict -}}
{{- range $kind := list "cpu" "memory" -}}
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

{{/* Security context of a container: non-root, read-only root, no capabilities. (uid) */}}
{{- define "viz.securityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop:
      - ALL
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  runAsUser: {{ . }}
  runAsGroup: {{ . }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Scheduling of a pod: node selector, tolerations, anti-affinity, pull secrets. (list $root "metrics-api") */}}
{{- define "viz.podScheduling" -}}
{{- $root := index . 0 -}}{{- $component := index . 1 -}}
{{- with $root.Values.nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
{{ toYaml . | indent 2 }}
{{- end }}
{{- if $root.Values.enablePodAntiAffinity }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchLabels:
{{ include "viz.selector" (list $root $component) | indent 12 }}
        topologyKey: kubernetes.io/hostname
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* The URL the metrics API queries: the given Prometheus, else the bundled one. */}}
{{- define "viz.prometheusUrl" -}}
{{- if .Values.prometheusUrl -}}
{{- .Values.prometheusUrl -}}
{{- else -}}
{{- printf "http://prometheus.%s.svc.%s:9090" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/* Whether the bundled Prometheus is installed. */}}
{{- define "viz.prometheusEnabled" -}}
{{- if and .Values.prometheus.enabled (not .Values.prometheusUrl) }}true{{ end -}}
{{- end -}}

{{/*
The relabelling that turns a discovered pod into a proxy target with Linkerd's labels: only the linkerd-proxy
container's linkerd-admin port of pods meshed by this control plane; namespace and pod; each linkerd.io/proxy-<kind>
pod label as <kind> (a Job's as k8s_job: `job` is Prometheus' own); the pod's other labels, linkerd.io/ prefix cut.
Shared by the bundled Prometheus and the PodMonitor. (list $root "sourceLabelsKey" "targetLabelKey")
*/}}
{{- define "viz.proxyRelabelling" -}}
{{- $root := index . 0 -}}{{- $src := index . 1 -}}{{- $dst := index . 2 -}}
- {{ $src }}: [__meta_kubernetes_pod_phase]
  action: keep
  regex: (Pending|Running)
- {{ $src }}: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name, __meta_kubernetes_pod_label_linkerd_io_control_plane_ns]
  action: keep
  regex: ^linkerd-proxy;linkerd-admin;{{ $root.Values.linkerdNamespace }}$
- {{ $src }}: [__meta_kubernetes_namespace]
  action: replace
  {{ $dst }}: namespace
- {{ $src }}: [__meta_kubernetes_pod_name]
  action: replace
  {{ $dst }}: pod
- {{ $src }}: [__meta_kubernetes_pod_label_linkerd_io_proxy_job]
  action: replace
  {{ $dst }}: k8s_job
- action: labeldrop
  regex: __meta_kubernetes_pod_label_linkerd_io_proxy_job
- action: labelmap
  regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
- action: labeldrop
  regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
- action: labelmap
  regex: __meta_kubernetes_pod_label_linkerd_io_(.+)
- action: labelmap
  regex: __meta_kubernetes_pod_label_(.+)
  replacement: __tmp_pod_label_$1
- action: labelmap
  regex: __tmp_pod_label_linkerd_io_(.+)
  replacement: __tmp_pod_label_$1
- action: labeldrop
  regex: __tmp_pod_label_linkerd_io_(.+)
- action: labelmap
  regex: __tmp_pod_label_(.+)
{{- end -}}

{{/*
A serving certificate for the API server to call one of ours (the tap APIService, the tap injector's webhook): from
values, else the installed Secret's, else a new self-signed one. (list $root $values "secret-name" "service-name")
*/}}
{{- define "viz.servingTls" -}}
{{- $root := index . 0 -}}{{- $v := index . 1 -}}{{- $secret := index . 2 -}}{{- $service := index . 3 -}}
{{- if and $v.crtPEM $v.keyPEM -}}
crt: {{ $v.crtPEM | quote }}
key: {{ $v.keyPEM | quote }}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace $secret -}}
{{- if and $existing (index ($existing.data | default dict) "tls.crt") (index ($existing.data | default dict) "tls.key") -}}
crt: {{ index $existing.data "tls.crt" | b64dec | quote }}
key: {{ index $existing.data "tls.key" | b64dec | quote }}
{{- else -}}
{{- $host := printf "%s.%s.svc" $service $root.Release.Namespace -}}
{{- $cert := genSelfSignedCert $host (list) (list $host) 365 -}}
crt: {{ $cert.Cert | quote }}
key: {{ $cert.Key | quote }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The tap APIService's serving certificate. */}}
{{- define "viz.tapTls" -}}
{{ include "viz.servingTls" (list . .Values.tap "tap-k8s-tls" "tap") }}
{{- end -}}

{{/* The tap injector webhook's serving certificate. */}}
{{- define "viz.tapInjectorTls" -}}
{{ include "viz.servingTls" (list . .Values.tapInjector "tap-injector-k8s-tls" "tap-injector") }}
{{- end -}}

{{/* Whether the tap injector is installed (it is served by the tap API's pod). */}}
{{- define "viz.tapInjectorEnabled" -}}
{{- if and .Values.tap.enabled .Values.tapInjector.enabled }}true{{ end -}}
{{- end -}}
