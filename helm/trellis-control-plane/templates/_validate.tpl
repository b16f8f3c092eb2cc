{{/* Render-time checks the schema cannot express. Each failure says what to do. */}}
{{- define "trellis.validate" -}}
{{- $howto := "Make a trust anchor and an issuer with the trellis-certs command of libs/pki:\n    node libs/pki/src/certs-cli.ts --out certs      (or: npx trellis-certs --out certs)\n  then pass them to helm:\n    --set-file identityTrustAnchorsPEM=certs/ca.crt \\\n    --set-file identity.issuer.tls.crtPEM=certs/issuer.crt \\\n    --set-file identity.issuer.tls.keyPEM=certs/issuer.key" -}}
{{- if not .Values.identity.externalCA -}}
{{- if not .Values.identityTrustAnchorsPEM -}}
{{- fail (printf "\nidentityTrustAnchorsPEM is empty: the mesh needs trust anchors.\n  %s" $howto) -}}
{{- end -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" .Values.identityTrustAnchorsPEM) -}}
{{- fail (printf "\nidentityTrustAnchorsPEM is not a PEM certificate bundle (no BEGIN CERTIFICATE block).\n  %s" $howto) -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.identity.issuer.scheme "linkerd.io/tls" -}}
{{- if or (not .Values.identity.issuer.tls.crtPEM) (not .Values.identity.issuer.tls.keyPEM) -}}
{{- fail (printf "\nidentity.issuer.tls.crtPEM and identity.issuer.tls.keyPEM are required with identity.issuer.scheme linkerd.io/tls: identity signs proxy certificates with this issuer.\n  %s\n  (or set identity.issuer.scheme=kubernetes.io/tls and let cert-manager write Secret trellis-identity-issuer)" $howto) -}}
{{- end -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" .Values.identity.issuer.tls.crtPEM) -}}
{{- fail (printf "\nidentity.issuer.tls.crtPEM is not a PEM certificate.\n  %s" $howto) -}}
{{- end -}}
{{- if not (contains "PRIVATE KEY-----" .Values.identity.issuer.tls.keyPEM) -}}
{{- fail (printf "\nidentity.issuer.tls.keyPEM is not a PEM private key.\n  %s" $howto) -}}
{{- end -}}
{{- end -}}
{{- range $name := list "proxyInjector" "profileValidator" "policyValidator" -}}
{{- $w := index $.Values $name -}}
{{- if and $w.crtPEM (not $w.keyPEM) -}}
{{- fail (printf "\n%s.crtPEM is set but %s.keyPEM is empty: give both, or neither to let the chart make a self-signed certificate." $name $name) -}}
{{- end -}}
{{- if and $w.externalSecret (not (or $w.caBundle $w.injectCaFrom $w.injectCaFromSecret)) -}}
{{- fail (printf "\n%s.externalSecret is true: set %s.caBundle, %s.injectCaFrom or %s.injectCaFromSecret so kube-apiserver can trust the webhook." $name $name $name $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
