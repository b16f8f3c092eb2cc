{{/*
The control plane's own proxies, rendered the way the injector (libs/inject) renders them for workloads, with
the differences a controller pod needs: trust anchors from the trust-roots ConfigMap, its own service reached over
localhost, kube-apiserver ports skipped by proxy-init.

Arguments (a dict):
  root          the chart's root context
  inboundPorts  LINKERD2_PROXY_INBOUND_PORTS (the controller's ports)
  opaquePorts   LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION (the pod's opaque-ports annotation)
  resources     proxy resources of this component ({} means proxy.resources)
  identityAddr  override of LINKERD2_PROXY_IDENTITY_SVC_ADDR (identity's own pod: localhost)
  dstAddr       override of LINKERD2_PROXY_DESTINATION_SVC_ADDR (destination's own pod: localhost; no fallback then)
  policyAddr    override of LINKERD2_PROXY_POLICY_SVC_ADDR (no fallback then)
  requireTLS    LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_TLS
  native        run as a native sidecar
  await         hold the controller until the proxy is ready
*/}}
{{- define "trellis.proxy" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $p := $v.proxy -}}
{{- $ns := $root.Release.Namespace -}}
{{- $cd := $v.clusterDomain -}}
{{- $td := include "trellis.trustDomain" $root -}}
{{- $any := ternary "0.0.0.0" "[::]" $v.disableIPv6 -}}
- name: linkerd-proxy
  image: {{ include "trellis.image" (list $p.image $root) }}
  imagePullPolicy: {{ include "trellis.pullPolicy" (list $p.image $root) }}
  env:
    - name: _pod_name
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: _pod_ns
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: _pod_uid
      valueFrom:
        fieldRef:
          fieldPath: metadata.uid
    - name: _pod_ip
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    - name: _pod_nodeName
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    - name: _pod_containerName
      value: linkerd-proxy
    {{- if not (kindIs "invalid" $p.cores) }}
    - name: LINKERD2_PROXY_CORES
      value: {{ $p.cores | quote }}
    {{- else }}
    - name: LINKERD2_PROXY_CORES
      value: {{ $p.runtime.workers.minimum | quote }}
    - name: LINKERD2_PROXY_CORES_MIN
      value: {{ $p.runtime.workers.minimum | quote }}
    {{- if not (kindIs "invalid" $p.runtime.workers.maximum) }}
    - name: LINKERD2_PROXY_CORES_MAX
      value: {{ $p.runtime.workers.maximum | quote }}
    {{- end }}
    {{- if not (kindIs "invalid" $p.runtime.workers.maximumCPURatio) }}
    - name: LINKERD2_PROXY_CORES_MAX_RATIO
      value: {{ $p.runtime.workers.maximumCPURatio | quote }}
    {{- end }}
    {{- end }}
    {{- with $p.requireIdentityOnInboundPorts }}
    - name: LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_IDENTITY
      value: {{ . | quote }}
    {{- end }}
    {{- with (.requireTLS | default $p.requireTLSOnInboundPorts) }}
    - name: LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_TLS
      value: {{ . | quote }}
    {{- end }}
    - name: LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED
      value: {{ $p.enableShutdownEndpoint | quote }}
    - name: LINKERD2_PROXY_LOG
      value: {{ ternary $p.logLevel (printf "%s,[{headers}]=off,[{request}]=off" $p.logLevel) (eq $p.logHTTPHeaders "insecure") | quote }}
    - name: LINKERD2_PROXY_LOG_FORMAT
      value: {{ $p.logFormat | quote }}
    - name: LINKERD2_PROXY_DESTINATION_SVC_ADDR
      value: {{ .dstAddr | default (printf "trellis-dst-headless.%s.svc.%s.:8086" $ns $cd) | quote }}
{{- if not .dstAddr }}
    - name: TRELLIS_PROXY_DESTINATION_SVC_FALLBACK_ADDR
      value: {{ printf "trellis-dst.%s.svc.%s.:8086" $ns $cd | quote }}
{{- end }}
    - name: LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS
      value: {{ $v.clusterNetworks | quote }}
    - name: LINKERD2_PROXY_POLICY_SVC_ADDR
      value: {{ .policyAddr | default (printf "trellis-policy.%s.svc.%s.:8090" $ns $cd) | quote }}
{{- if not .policyAddr }}
    - name: TRELLIS_PROXY_POLICY_SVC_FALLBACK_ADDR
      value: {{ printf "trellis-dst.%s.svc.%s.:8090" $ns $cd | quote }}
{{- end }}
    - name: LINKERD2_PROXY_POLICY_WORKLOAD
      value: |
        {"ns":"$(_pod_ns)", "pod":"$(_pod_name)"}
    - name: LINKERD2_PROXY_INBOUND_DEFAULT_POLICY
      value: {{ $p.defaultInboundPolicy | quote }}
    - name: LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS
      value: {{ $v.clusterNetworks | quote }}
    - name: LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT
      value: {{ $p.control.streams.initialTimeout | quote }}
    - name: LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT
      value: {{ $p.control.streams.idleTimeout | quote }}
    - name: LINKERD2_PROXY_CONTROL_STREAM_LIFETIME
      value: {{ $p.control.streams.lifetime | quote }}
    - name: LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT
      value: {{ $p.inboundConnectTimeout | quote }}
    - name: LINKERD2_PROXY_OUTBOUND_CONNECT_TIMEOUT
      value: {{ $p.outboundConnectTimeout | quote }}
    - name: LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT
      value: {{ $p.outboundDiscoveryCacheUnusedTimeout | quote }}
    - name: LINKERD2_PROXY_INBOUND_DISCOVERY_IDLE_TIMEOUT
      value: {{ $p.inboundDiscoveryCacheUnusedTimeout | quote }}
    {{- if $p.disableOutboundProtocolDetectTimeout }}
    - name: LINKERD2_PROXY_OUTBOUND_DETECT_TIMEOUT
      value: 365d
    {{- end }}
    {{- if $p.disableInboundProtocolDetectTimeout }}
    - name: LINKERD2_PROXY_INBOUND_DETECT_TIMEOUT
      value: 365d
    {{- end }}
    - name: LINKERD2_PROXY_CONTROL_LISTEN_ADDR
      value: "{{ $any }}:{{ $p.ports.control }}"
    - name: LINKERD2_PROXY_ADMIN_LISTEN_ADDR
      value: "{{ $any }}:{{ $p.ports.admin }}"
    - name: LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR
      value: "127.0.0.1:{{ $p.ports.outbound }}"
    - name: LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS
      value: "127.0.0.1:{{ $p.ports.outbound }}{{ if not $v.disableIPv6 }},[::1]:{{ $p.ports.outbound }}{{ end }}"
    - name: LINKERD2_PROXY_INBOUND_LISTEN_ADDR
      value: "{{ $any }}:{{ $p.ports.inbound }}"
    - name: LINKERD2_PROXY_INBOUND_IPS
      valueFrom:
        fieldRef:
          fieldPath: status.podIPs
    - name: LINKERD2_PROXY_INBOUND_PORTS
      value: {{ .inboundPorts | quote }}
    - name: LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES
      value: {{ ternary "." (printf "svc.%s." $cd) $p.enableExternalProfiles | quote }}
    - name: LINKERD2_PROXY_INBOUND_ACCEPT_KEEPALIVE
      value: 10000ms
    - name: LINKERD2_PROXY_OUTBOUND_CONNECT_KEEPALIVE
      value: 10000ms
    - name: LINKERD2_PROXY_INBOUND_ACCEPT_USER_TIMEOUT
      value: 30s
    - name: LINKERD2_PROXY_OUTBOUND_CONNECT_USER_TIMEOUT
      value: 30s
    - name: LINKERD2_PROXY_OUTBOUND_METRICS_HOSTNAME_LABELS
      value: {{ $p.metrics.hostnameLabels | quote }}
    - name: LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL
      value: {{ $p.inbound.server.http2.keepAliveInterval | quote }}
    - name: LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT
      value: {{ $p.inbound.server.http2.keepAliveTimeout | quote }}
    - name: LINKERD2_PROXY_OUTBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL
      value: {{ $p.outbound.server.http2.keepAliveInterval | quote }}
    - name: LINKERD2_PROXY_OUTBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT
      value: {{ $p.outbound.server.http2.keepAliveTimeout | quote }}
    {{- with .opaquePorts }}
    - name: LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION
      value: {{ . | quote }}
    {{- end }}
    - name: LINKERD2_PROXY_DESTINATION_CONTEXT
      value: |
        {"ns":"$(_pod_ns)", "nodeName":"$(_pod_nodeName)", "pod":"$(_pod_name)"}
    - name: _pod_sa
      valueFrom:
        fieldRef:
          fieldPath: spec.serviceAccountName
    - name: _l5d_ns
      value: {{ $ns }}
    - name: _l5d_trustdomain
      value: {{ $td }}
    - name: LINKERD2_PROXY_IDENTITY_DIR
      value: /var/run/linkerd/identity/end-entity
    - name: LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS
      valueFrom:
        configMapKeyRef:
          name: trellis-identity-trust-roots
          key: ca-bundle.crt
    - name: LINKERD2_PROXY_IDENTITY_TOKEN_FILE
      value: {{ ternary "/var/run/secrets/tokens/linkerd-identity-token" "/var/run/secrets/kubernetes.io/serviceaccount/token" $v.identity.serviceAccountTokenProjection }}
    - name: LINKERD2_PROXY_IDENTITY_SVC_ADDR
      value: {{ .identityAddr | default (printf "trellis-identity-headless.%s.svc.%s.:8080" $ns $cd) | quote }}
    - name: LINKERD2_PROXY_IDENTITY_LOCAL_NAME
      value: "$(_pod_sa).$(_pod_ns).serviceaccount.identity.{{ $ns }}.{{ $td }}"
    - name: LINKERD2_PROXY_IDENTITY_SVC_NAME
      value: "trellis-identity.{{ $ns }}.serviceaccount.identity.{{ $ns }}.{{ $td }}"
    - name: LINKERD2_PROXY_DESTINATION_SVC_NAME
      value: "trellis-destination.{{ $ns }}.serviceaccount.identity.{{ $ns }}.{{ $td }}"
    - name: LINKERD2_PROXY_POLICY_SVC_NAME
      value: "trellis-destination.{{ $ns }}.serviceaccount.identity.{{ $ns }}.{{ $td }}"
    {{- with $p.accessLog }}
    - name: LINKERD2_PROXY_ACCESS_LOG
      value: {{ . | quote }}
    {{- end }}
    {{- with $p.shutdownGracePeriod }}
    - name: LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD
      value: {{ . | quote }}
    {{- end }}
    {{- range (concat $p.additionalEnv $p.experimentalEnv) }}
    - {{ toJson . }}
    {{- end }}
  {{- if and (not .native) (or .await (gt (int $p.waitBeforeExitSeconds) 0)) }}
  lifecycle:
    {{- if .await }}
    postStart:
      exec:
        command:
          - /usr/lib/linkerd/linkerd-await
          - --timeout=2m
          - --port={{ $p.ports.admin }}
    {{- end }}
    {{- if gt (int $p.waitBeforeExitSeconds) 0 }}
    preStop:
      exec:
        command:
          - /bin/sleep
          - {{ $p.waitBeforeExitSeconds | quote }}
    {{- end }}
  {{- end }}
  livenessProbe:
    httpGet:
      path: /live
      port: {{ $p.ports.admin }}
{{ toYaml $p.livenessProbe | indent 4 }}
  ports:
    - containerPort: {{ $p.ports.inbound }}
      name: linkerd-proxy
    - containerPort: {{ $p.ports.admin }}
      name: linkerd-admin
  readinessProbe:
    httpGet:
      path: /ready
      port: {{ $p.ports.admin }}
{{ toYaml $p.readinessProbe | indent 4 }}
  {{- $res := .resources | default $p.resources }}
  {{- with (include "trellis.resources" $res) }}
{{ . | indent 2 }}
  {{- end }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities:
      drop:
        - ALL
    readOnlyRootFilesystem: true
    runAsNonRoot: true
    runAsUser: {{ $p.uid }}
    {{- if ge (int $p.gid) 0 }}
    runAsGroup: {{ $p.gid }}
    {{- end }}
    seccompProfile:
      type: RuntimeDefault
  {{- if and .native .await }}
  startupProbe:
    httpGet:
      path: /ready
      port: {{ $p.ports.admin }}
{{ toYaml $p.startupProbe | indent 4 }}
  {{- end }}
  terminationMessagePolicy: FallbackToLogsOnError
  volumeMounts:
    - mountPath: /var/run/linkerd/identity/end-entity
      name: linkerd-identity-end-entity
    {{- if $v.identity.serviceAccountTokenProjection }}
    - mountPath: /var/run/secrets/tokens
      name: linkerd-identity-token
    {{- else }}
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      name: kube-api-access
      readOnly: true
    {{- end }}
{{- end -}}

{{/* The init container that redirects the pod's traffic (proxy-init), or the network validator under CNI. */}}
{{- define "trellis.proxyInit" -}}
{{- $v := .Values -}}
{{- $p := $v.proxy -}}
{{- $pi := $v.proxyInit -}}
{{- if $v.cniEnabled }}
- name: linkerd-network-validator
  image: {{ include "trellis.image" (list $p.image .) }}
  imagePullPolicy: {{ include "trellis.pullPolicy" (list $p.image .) }}
  command:
    - /usr/lib/linkerd/linkerd2-network-validator
  args:
    - --log-format
    - {{ $v.networkValidator.logFormat }}
    - --log-level
    - {{ $v.networkValidator.logLevel }}
    - --connect-addr
    - {{ $v.networkValidator.connectAddr | default (ternary "1.1.1.1:20001" "[fd00::1]:20001" $v.disableIPv6) | quote }}
    - --listen-addr
    - {{ $v.networkValidator.listenAddr | default (printf "%s:%v" (ternary "0.0.0.0" "[::]" $v.disableIPv6) $p.ports.outbound) | quote }}
    - --timeout
    - {{ $v.networkValidator.timeout }}
  securityContext:
    allowPrivilegeEscalation: false
    capabilities:
      drop:
        - ALL
    readOnlyRootFilesystem: true
    runAsGroup: 65534
    runAsNonRoot: true
    runAsUser: 65534
    seccompProfile:
      type: RuntimeDefault
  terminationMessagePolicy: FallbackToLogsOnError
{{- else }}
- name: linkerd-init
  image: {{ include "trellis.image" (list $pi.image .) }}
  imagePullPolicy: {{ include "trellis.pullPolicy" (list $pi.image .) }}
  args:
    {{- if eq $pi.iptablesMode "nft" }}
    - --firewall-bin-path
    - iptables-nft
    - --firewall-save-bin-path
    - iptables-nft-save
    {{- end }}
    {{- if $v.disableIPv6 }}
    - --ipv6=false
    {{- end }}
    - --incoming-proxy-port
    - {{ $p.ports.inbound | quote }}
    - --outgoing-proxy-port
    - {{ $p.ports.outbound | quote }}
    - --proxy-uid
    - {{ $p.uid | quote }}
    {{- if ge (int $p.gid) 0 }}
    - --proxy-gid
    - {{ $p.gid | quote }}
    {{- end }}
    - --inbound-ports-to-ignore
    - "{{ $p.ports.control }},{{ $p.ports.admin }}{{ with $pi.ignoreInboundPorts }},{{ . }}{{ end }}"
    {{- /* Controllers talk to kube-apiserver directly, not through their proxy. */}}
    - --outbound-ports-to-ignore
    - {{ $pi.kubeAPIServerPorts | quote }}
    {{- if gt (int $pi.closeWaitTimeoutSecs) 0 }}
    - --timeout-close-wait-secs
    - {{ $pi.closeWaitTimeoutSecs | quote }}
    {{- end }}
    {{- with $pi.logFormat }}
    - --log-format
    - {{ . }}
    {{- end }}
    {{- with $pi.logLevel }}
    - --log-level
    - {{ . }}
    {{- end }}
    {{- with $pi.skipSubnets }}
    - --subnets-to-ignore
    - {{ . | quote }}
    {{- end }}
  securityContext:
    allowPrivilegeEscalation: {{ $pi.privileged }}
    capabilities:
      add:
        - NET_ADMIN
        - NET_RAW
    privileged: {{ $pi.privileged }}
    readOnlyRootFilesystem: true
    runAsNonRoot: {{ not $pi.runAsRoot }}
    runAsUser: {{ ternary 0 $pi.runAsUser $pi.runAsRoot }}
    runAsGroup: {{ ternary 0 $pi.runAsGroup $pi.runAsRoot }}
    seccompProfile:
      type: RuntimeDefault
  terminationMessagePolicy: FallbackToLogsOnError
  volumeMounts:
    - mountPath: {{ $pi.xtMountPath.mountPath }}
      name: {{ $pi.xtMountPath.name }}
{{- end }}
{{- end -}}

{{/* The volumes the proxy and proxy-init need in a control-plane pod. */}}
{{- define "trellis.proxyVolumes" -}}
{{- if not .Values.cniEnabled }}
- name: {{ .Values.proxyInit.xtMountPath.name }}
  emptyDir: {}
{{- end }}
- name: linkerd-identity-end-entity
  emptyDir:
    medium: Memory
{{- if .Values.identity.serviceAccountTokenProjection }}
- name: linkerd-identity-token
  projected:
    sources:
      - serviceAccountToken:
          audience: identity.l5d.io
          expirationSeconds: 86400
          path: linkerd-identity-token
{{- end }}
{{- end -}}
