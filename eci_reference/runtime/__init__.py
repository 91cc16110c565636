"""The running reference implementation: certificates, the vk-webhook reconciler, the profile and
namespace watches, the zone-aware disk provisioner, and the process that ties them together."""
