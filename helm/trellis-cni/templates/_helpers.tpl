{{/* Shared pieces of the CNI templates. */}}

{{/* Labels of every object; linkerd.io/cni-resource keeps the injector's webhook away from them, as Linkerd's. */}}
{{- define "cni.labels" -}}
linkerd.io/cni-resource: "true"
app.kubernetes.io/name: trellis-cni
app.kubernetes.io/part-of: trellis
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A comma-separated list as JSON strings: "4567,4568" → "4567","4568". */}}
{{- define "cni.stringList" -}}
{{- $items := list -}}
{{- range (splitList "," (toString .)) -}}{{- if trim . -}}{{- $items = append $items (trim . | quote) -}}{{- end -}}{{- end -}}
{{- join "," $items -}}
{{- end -}}

{{/* A resources block from {cpu, memory, ephemeral-storage} × {limit, request}; empty renders nothing. */}}
{{- define "cni.resources" -}}
{{- $limits := dict -}}{{- $requests := dict -}}
{{- range $kind := list "cpu" "memory" "ephemeral-storage" -}}
{{- with (index $ $kind) -}}
{{- if .limit }}{{ $_ := set $limits $kind .limit }}{{ end -}}
{{- if .request }}{{ $_ := set $requests $kind .request }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if or $limits $requests }}
resources:
  {{- with $limits }}
  limits:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $requests }}
  requests:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}
