// The online CA (IntermediateCA, its service protocols and ApplianceError) lives in the
// `Authority` module (docs/architecture.md#modules); everything that builds an appliance uses
// both, so importing ApplianceKit brings Authority along.
@_exported import Authority
