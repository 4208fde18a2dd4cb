"""A valid contract record (every required field) shared by the contract tests."""

BASE = dict(
    age_years=61, sex="male", etiology="hbv", cirrhosis=True, ascites="none",
    encephalopathy="none", bilirubin_umol_l=18.0, albumin_g_l=39.0, inr=1.1,
    creatinine_umol_l=75.0, platelets_10e9_l=140.0, afp_ng_ml=350.0, tumor_count=2,
    tumor_max_diameter_cm=6.5, pvtt="vp2", extrahepatic_spread=False, ecog=1,
)
