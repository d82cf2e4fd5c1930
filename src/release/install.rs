//! `beamrc install RELEASE_DIR`: turn a built release into a beamrc release.
//! (Owned by the core; implemented in cli/tool.rs's flow.)
