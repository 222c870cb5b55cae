-- Argo CD health check for sealbox.dev/SealedSecret (argocd-cm key
-- resource.customizations.health.sealbox.dev_SealedSecret; docs/GITOPS.md).
-- Progressing until the controller has reported on this generation;
-- Healthy when Ready=True (the Secret matches); Degraded when Stalled=True (a
-- failure only a person can mend: tampered, wrong scope, no key, an unowned
-- Secret in the way) with the condition's message; Progressing while the
-- controller retries a transient failure (Reconciling=True).
local hs = {}
local status = obj.status
if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the sealbox controller to report on this resource"
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the sealbox controller to observe generation " .. tostring(generation) .. " (it reported on " .. tostring(status.observedGeneration) .. ")"
  return hs
end
local found = {}
if status.conditions ~= nil then
  for _, c in ipairs(status.conditions) do
    found[c.type] = c
  end
end
-- Failures that retrying cannot mend, for a status an older controller wrote without Stalled.
local permanent = { InvalidSealedSecret = true, ScopeMismatch = true, NoKey = true, Tampered = true, SecretNotOwned = true }
local ready, stalled, reconciling = found["Ready"], found["Stalled"], found["Reconciling"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
elseif reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.message
elseif ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the sealbox controller to report on this resource"
elseif ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
elseif ready.status == "False" and permanent[ready.reason] then
  hs.status = "Degraded"
  hs.message = ready.message
else
  hs.status = "Progressing"
  hs.message = ready.message
end
return hs
