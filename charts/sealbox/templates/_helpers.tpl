{{/*
Prefix of cluster-scoped names: the release name, with "-sealbox" appended
unless it contains "sealbox" (release "sealbox" gives deploy/'s names).
Namespaced objects keep deploy/'s fixed names: the CLI looks for the Service
sealbox-controller and the ConfigMap sealbox-certs, and the admission policy
matches the service account sealbox-controller.
*/}}
{{- define "sealbox.prefix" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "sealbox" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-sealbox" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* deploy/'s labels (name, part-of), plus Helm's. */}}
{{- define "sealbox.labels" -}}
app.kubernetes.io/name: sealbox
app.kubernetes.io/part-of: sealbox
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of the controller's objects. */}}
{{- define "sealbox.controllerLabels" -}}
{{ include "sealbox.labels" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* The Deployment's selector, as in deploy/ (selectors are immutable). */}}
{{- define "sealbox.selector" -}}
app.kubernetes.io/name: sealbox
app.kubernetes.io/component: controller
{{- end -}}

{{/* The controller's image: digest wins over tag; tag defaults to appVersion. */}}
{{- define "sealbox.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}
