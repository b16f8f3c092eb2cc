{{/* prometheus.yml of the bundled Prometheus: Linkerd viz's scrape jobs. */}}
{{- define "viz.prometheusConfig" -}}
{{- $p := .Values.prometheus -}}
global:
  scrape_interval: {{ $p.scrapeInterval }}
  scrape_timeout: {{ $p.scrapeTimeout }}
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
  # The control plane's and this extension's own admin ports (identity, destination, injector, metrics API).
  - job_name: linkerd-controller
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          names: [{{ .Values.linkerdNamespace | quote }}, {{ .Release.Namespace | quote }}]
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_container_port_name]
        action: keep
        regex: .*admin$
      - source_labels: [__meta_kubernetes_pod_container_port_name]
        action: drop
        regex: linkerd-admin
      - source_labels: [__meta_kubernetes_pod_container_name]
        action: replace
        target_label: component
  # Every meshed pod's proxy.
  - job_name: linkerd-proxy
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
{{ include "viz.proxyRelabelling" (list . "source_labels" "target_label") | indent 6 }}
    {{- with $p.metricRelabelConfigs }}
    metric_relabel_configs:
{{ toYaml . | indent 6 }}
    {{- end }}
{{- with $p.scrapeConfigs }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}
