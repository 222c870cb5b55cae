{{/*
The controller's pod template, shared by the Deployment (one shard) and the
StatefulSet (shards > 1, statefulset.yaml): the same pod either way.
*/}}
{{- define "sealbox.podTemplate" -}}
metadata:
  labels:
    {{- include "sealbox.controllerLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: sealbox-controller
  # The service account turns automounting off for everyone else.
  automountServiceAccountToken: true
  enableServiceLinks: false
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: 30
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    fsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  # Spread the replicas over nodes (and zones), but still schedule both on
  # a one-node cluster.
  topologySpreadConstraints:
    {{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
    - maxSkew: 1
      topologyKey: {{ . }}
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "sealbox.selector" $ | nindent 10 }}
      matchLabelKeys: [{{ if gt (int $.Values.shards) 1 }}controller-revision-hash{{ else }}pod-template-hash{{ end }}]
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: controller
      image: {{ include "sealbox.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - controller
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- with .Values.watchNamespaces }}
        - name: SEALBOX_WATCH_NAMESPACES
          value: {{ join "," . | quote }}
        {{- end }}
        {{- if gt (int .Values.shards) 1 }}
        # one shard per replica, from the ordinal at the end of its pod name
        # (POD_NAME, StatefulSet); docs/DEPLOY.md "Sharding"
        - name: SEALBOX_SHARDS
          value: {{ .Values.shards | quote }}
        {{- end }}
        {{- with .Values.events }}
        - name: SEALBOX_EVENTS
          value: {{ . | quote }}
        {{- end }}
        {{- with .Values.kms.providers }}
        - name: SEALBOX_KMS_PROVIDERS
          value: {{ join "," . | quote }}
        {{- end }}
        # KMS keys the controller may call (docs/KMS.md "--kms-allow");
        # any other stanza is refused with no network call.
        - name: SEALBOX_KMS_ALLOW
          value: {{ join "," .Values.kms.allow | quote }}
        {{- with .Values.kms.timeout }}
        - name: SEALBOX_KMS_TIMEOUT
          value: {{ . | quote }}
        {{- end }}
        # Keep the V8 heap well inside the memory limit.
        - name: NODE_OPTIONS
          value: {{ .Values.nodeOptions | quote }}
        # Two malloc arenas, not one per thread: less resident memory (docs/DEPLOY.md).
        - name: MALLOC_ARENA_MAX
          value: "2"
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        # /v1/* (certificates, re-encrypt), /healthz, /readyz, /metrics.
        - name: http
          containerPort: 8080
          protocol: TCP
      # The first RSA-4096 key and a backlog can take a while; liveness
      # starts only once this has passed.
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        capabilities:
          drop: [ALL]
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    # Memory-backed scratch space (the root filesystem is read-only).
    - name: tmp
      emptyDir:
        medium: Memory
        sizeLimit: 16Mi
{{- end -}}
