{{/* Name of the release's objects. */}}
{{- define "hwx.fullname" -}}
{{- if contains "hwx" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-hwx" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "hwx.labels" -}}
app.kubernetes.io/name: hwx
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{/* The secret holding database-url, nats-url and signing-key. */}}
{{- define "hwx.secretName" -}}
{{- if .Values.existingSecret -}}{{ .Values.existingSecret }}{{- else -}}{{ include "hwx.fullname" . }}{{- end -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "hwx.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Environment every role gets. */}}
{{- define "hwx.env" -}}
- name: HWX_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "hwx.secretName" . }}
      key: database-url
- name: HWX_NATS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "hwx.secretName" . }}
      key: nats-url
- name: HWX_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "hwx.secretName" . }}
      key: signing-key
{{- end -}}
