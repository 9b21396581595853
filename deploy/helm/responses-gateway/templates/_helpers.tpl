{{/* Chart name, truncated to the 63 characters Kubernetes allows in names and labels. */}}
{{- define "rgw.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; every object's name starts with it. */}}
{{- define "rgw.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rgw.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. Call with (dict "root" $ "component" "gateway"). */}}
{{- define "rgw.labels" -}}
helm.sh/chart: {{ include "rgw.chart" .root }}
{{ include "rgw.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: responses-gateway
{{- end }}

{{- define "rgw.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rgw.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "rgw.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rgw.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "rgw.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* "true" when the gateway runs in cluster mode (some Redis is configured), else empty. */}}
{{- define "rgw.redisConfigured" -}}
{{- if or .Values.redis.enabled .Values.redis.url .Values.redis.existingSecret .Values.redis.cluster.nodes .Values.redis.sentinel.sentinels }}true{{- end }}
{{- end }}

{{/* The Secret holding REDIS_PASSWORD / REDIS_SENTINEL_PASSWORD, or empty when none. */}}
{{- define "rgw.redisAuthSecret" -}}
{{- if .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecret }}{{- else if or .Values.redis.auth.password .Values.redis.auth.sentinelPassword }}{{ include "rgw.fullname" . }}{{- end }}
{{- end }}

{{/*
The Redis variables, the same for the gateway and the worker (one mode: bundled, URL, Cluster or
Sentinel; TLS files mounted from Secrets under /etc/redis-tls), or nothing in embedded mode.
*/}}
{{- define "rgw.redisEnv" -}}
{{- $auth := include "rgw.redisAuthSecret" . }}
{{- if .Values.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s-redis:6379" (include "rgw.fullname" .) | quote }}
{{- else if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: REDIS_URL
{{- else if .Values.redis.url }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "rgw.fullname" . }}
      key: REDIS_URL
{{- else if .Values.redis.cluster.nodes }}
- name: REDIS_CLUSTER_NODES
  value: {{ .Values.redis.cluster.nodes | quote }}
{{- else if .Values.redis.sentinel.sentinels }}
- name: REDIS_SENTINELS
  value: {{ .Values.redis.sentinel.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName | quote }}
{{- end }}
{{- if and (not .Values.redis.enabled) (or .Values.redis.cluster.nodes .Values.redis.sentinel.sentinels) }}
{{- with .Values.redis.auth.username }}
- name: REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- if $auth }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $auth }}
      key: REDIS_PASSWORD
      optional: true
{{- if .Values.redis.sentinel.sentinels }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $auth }}
      key: REDIS_SENTINEL_PASSWORD
      optional: true
{{- end }}
{{- end }}
{{- if .Values.redis.tls.enabled }}
- name: REDIS_TLS
  value: "true"
{{- end }}
{{- end }}
{{- if not .Values.redis.enabled }}
{{- if .Values.redis.tls.caSecret }}
- name: REDIS_TLS_CA_FILE
  value: /etc/redis-tls/ca/ca.crt
{{- end }}
{{- if .Values.redis.tls.clientCertSecret }}
- name: REDIS_TLS_CERT_FILE
  value: /etc/redis-tls/client/tls.crt
- name: REDIS_TLS_KEY_FILE
  value: /etc/redis-tls/client/tls.key
{{- end }}
{{- end }}
{{- end }}

{{/* Volume mounts for the Redis TLS Secrets (gateway and worker containers). */}}
{{- define "rgw.redisTlsVolumeMounts" -}}
{{- if and (not .Values.redis.enabled) .Values.redis.tls.caSecret }}
- name: redis-tls-ca
  mountPath: /etc/redis-tls/ca
  readOnly: true
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.redis.tls.clientCertSecret }}
- name: redis-tls-client
  mountPath: /etc/redis-tls/client
  readOnly: true
{{- end }}
{{- end }}

{{/* The volumes behind rgw.redisTlsVolumeMounts. */}}
{{- define "rgw.redisTlsVolumes" -}}
{{- if and (not .Values.redis.enabled) .Values.redis.tls.caSecret }}
- name: redis-tls-ca
  secret:
    secretName: {{ .Values.redis.tls.caSecret }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.redis.tls.clientCertSecret }}
- name: redis-tls-client
  secret:
    secretName: {{ .Values.redis.tls.clientCertSecret }}
{{- end }}
{{- end }}

{{/* UPSTREAM_TLS_CA_FILE, where upstream.tlsCaSecret (key ca.crt) is mounted: a private backend's CA (gateway and worker). */}}
{{- define "rgw.upstreamTlsEnv" -}}
{{- if .Values.upstream.tlsCaSecret }}
- name: UPSTREAM_TLS_CA_FILE
  value: /etc/upstream-tls/ca.crt
{{- end }}
{{- end }}

{{/* The mount behind rgw.upstreamTlsEnv. */}}
{{- define "rgw.upstreamTlsVolumeMounts" -}}
{{- if .Values.upstream.tlsCaSecret }}
- name: upstream-tls-ca
  mountPath: /etc/upstream-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* The volume behind rgw.upstreamTlsVolumeMounts. */}}
{{- define "rgw.upstreamTlsVolumes" -}}
{{- if .Values.upstream.tlsCaSecret }}
- name: upstream-tls-ca
  secret:
    secretName: {{ .Values.upstream.tlsCaSecret }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}

{{/* The bundled Redis's persistence flags for the chosen mode. */}}
{{- define "rgw.redisPersistenceArgs" -}}
{{- if eq .Values.redis.persistence.mode "aof" }}"--appendonly", "yes", "--appendfsync", "everysec", "--save", ""
{{- else if eq .Values.redis.persistence.mode "snapshot" }}"--appendonly", "no", "--save", "300 10"
{{- else }}"--appendonly", "no", "--save", ""
{{- end }}
{{- end }}

{{/* Pod-level termination grace: preStop sleep + the gateway's stream drain + a margin to exit. */}}
{{- define "rgw.terminationGracePeriodSeconds" -}}
{{- if .Values.gateway.terminationGracePeriodSeconds }}
{{- .Values.gateway.terminationGracePeriodSeconds }}
{{- else }}
{{- add .Values.gateway.preStopSleepSeconds .Values.config.shutdownGraceSeconds 15 }}
{{- end }}
{{- end }}
