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
{{- if or .Values.redis.enabled .Values.redis.url .Values.redis.existingSecret }}true{{- end }}
{{- end }}

{{/* The REDIS_URL env entry, or nothing in embedded mode. */}}
{{- define "rgw.redisUrlEnv" -}}
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
